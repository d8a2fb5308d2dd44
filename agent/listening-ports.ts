/**
 * TCP ports listening inside the space, read from /proc/net/tcp and /proc/net/tcp6: no `ss` or
 * `netstat` needed in the image, and no connection attempts that would show up in app logs.
 */
import { readFile } from 'node:fs/promises';

/** The kernel's TCP_LISTEN state, as /proc/net/tcp prints it. */
const TCP_LISTEN = '0A';
export const MAX_REPORTED_PORTS = 256;

/**
 * The listening ports in one /proc/net/tcp or /proc/net/tcp6 text. Rows are
 * `sl local_address rem_address st ...` with the address as hex `ADDR:PORT`; the header line and
 * anything malformed are skipped.
 */
export function parseProcNetTcp(text: string, uid?: number): number[] {
  const ports: number[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || !/^\d+:$/.test(cols[0]!)) continue;
    if (cols[3]!.toUpperCase() !== TCP_LISTEN) continue;
    // column 8 is the socket owner's uid
    if (uid !== undefined && cols[7] !== String(uid)) continue;
    const portHex = cols[1]!.split(':')[1];
    if (!portHex || !/^[0-9A-Fa-f]{1,4}$/.test(portHex)) continue;
    const port = parseInt(portHex, 16);
    if (port >= 1) ports.push(port);
  }
  return ports;
}

/** Sorted, deduplicated, without `exclude`, at most MAX_REPORTED_PORTS. */
export function reportablePorts(ports: Iterable<number>, exclude: Iterable<number> = []): number[] {
  const skip = new Set(exclude);
  return [...new Set(ports)]
    .filter((p) => !skip.has(p))
    .sort((a, b) => a - b)
    .slice(0, MAX_REPORTED_PORTS);
}

/**
 * Every listening TCP port (v4 and v6), or null when /proc/net is not there (not Linux). With
 * `uid`, only sockets that user owns: a task on the host's network (Nomad's exec driver) sees
 * every socket of the host, and the space's are the ones its user opened.
 */
export async function readListeningPorts(files = ['/proc/net/tcp', '/proc/net/tcp6'], uid?: number): Promise<number[] | null> {
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').catch(() => null)));
  if (texts.every((t) => t === null)) return null;
  return reportablePorts(texts.flatMap((t) => (t === null ? [] : parseProcNetTcp(t, uid))));
}

/** The listening ports of sockets this process's user owns (all of them where uids do not exist). */
export function readOwnListeningPorts(): Promise<number[] | null> {
  return readListeningPorts(undefined, process.getuid?.());
}
