import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_REPORTED_PORTS, parseProcNetTcp, readListeningPorts, reportablePorts } from '../../../agent/listening-ports';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17617 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 22345 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0BB8 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 22346 1 0000000000000000 20 4 30 10 -1
   3: 0F02000A:8A3C 5DB8D822:01BB 06 00000000:00000000 03:00000F4A 00000000     0        0 0 3 0000000000000000
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 31337 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17619 1 0000000000000000 100 0 0 10 0
   2: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:A1B2 01 00000000:00000000 00:00000000 00000000  1000        0 31338 1 0000000000000000 20 4 30 10 -1
`;

describe('parseProcNetTcp', () => {
  it('reads the LISTEN rows of /proc/net/tcp', () => {
    expect(parseProcNetTcp(TCP)).toEqual([22, 3000]);
  });

  it('reads /proc/net/tcp6', () => {
    expect(parseProcNetTcp(TCP6)).toEqual([8080, 22]);
  });

  it('keeps only the sockets one user owns when asked (a task on the host network sees the host\'s)', () => {
    expect(parseProcNetTcp(TCP, 1000)).toEqual([3000]);
    expect(parseProcNetTcp(TCP6, 1000)).toEqual([8080]);
    expect(parseProcNetTcp(TCP, 0)).toEqual([22]);
    expect(parseProcNetTcp(TCP, 4242)).toEqual([]);
  });

  it('skips the header, blank and malformed lines', () => {
    expect(parseProcNetTcp('')).toEqual([]);
    expect(parseProcNetTcp('garbage\n  x: y z 0A\n   5: 0100007F:ZZZZ 00000000:0000 0A\n   6: 0100007F 00000000:0000 0A\n')).toEqual([]);
  });
});

describe('reportablePorts', () => {
  it('sorts, dedupes and leaves out the excluded ports', () => {
    expect(reportablePorts([...parseProcNetTcp(TCP), ...parseProcNetTcp(TCP6)], [3000])).toEqual([22, 8080]);
  });

  it('caps the list', () => {
    const many = Array.from({ length: 400 }, (_, i) => 1000 + i);
    const out = reportablePorts(many);
    expect(out).toHaveLength(MAX_REPORTED_PORTS);
    expect(out[0]).toBe(1000);
  });
});

describe('readListeningPorts', () => {
  it('is null when no /proc file is there', async () => {
    await expect(readListeningPorts(['/nonexistent/tcp', '/nonexistent/tcp6'])).resolves.toBeNull();
  });

  it('merges the files that exist', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-proc-'));
    writeFileSync(path.join(dir, 'tcp'), TCP);
    writeFileSync(path.join(dir, 'tcp6'), TCP6);
    await expect(readListeningPorts([path.join(dir, 'tcp'), path.join(dir, 'tcp6'), path.join(dir, 'missing')])).resolves.toEqual([22, 3000, 8080]);
  });
});
