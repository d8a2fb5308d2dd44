/** `knot ssh-config`'s block in ~/.ssh/config, its Host entries and knot's known_hosts file. */
import { BLOCK_END, BLOCK_START, mergeKnownHosts, proxyCommandOf, renderSshConfigBlock, shellQuote, withSshConfigBlock } from '../../../cli/ssh-config';

const PROXY = proxyCommandOf(['/usr/bin/node', '/opt/knot/dist/cli/main.js']);
const block = (hosts: string[]) =>
  renderSshConfigBlock(
    hosts.map((host) => ({ host, user: 'alice' })),
    PROXY,
    '/home/alice/.config/knot/known_hosts',
  );

describe('the ssh-config block', () => {
  it('renders one pinned Host per space, sorted', () => {
    const text = block(['web.knot', 'dev.knot']);
    expect(text.startsWith(`${BLOCK_START}\n`)).toBe(true);
    expect(text.endsWith(`${BLOCK_END}\n`)).toBe(true);
    expect(text.indexOf('Host dev.knot')).toBeLessThan(text.indexOf('Host web.knot'));
    expect(text).toContain('  ProxyCommand /usr/bin/node /opt/knot/dist/cli/main.js forward ssh %h\n');
    expect(text).toContain('  HostKeyAlias dev.knot\n');
    expect(text).toContain('  UserKnownHostsFile /home/alice/.config/knot/known_hosts\n');
    expect(text).toContain('  StrictHostKeyChecking yes\n');
    expect(text).toContain('  User alice\n');
    expect(text).not.toMatch(/StrictHostKeyChecking no/);
  });

  it('is appended to a config, replaced in place, and removed, leaving the rest byte for byte', () => {
    const before = 'Host github.com\n  User git\n\n';
    const after = '\nHost *\n  ServerAliveInterval 30\n';
    const added = withSshConfigBlock(before, block(['dev.knot']));
    expect(added).toBe(before + block(['dev.knot']));
    // idempotent
    expect(withSshConfigBlock(added, block(['dev.knot']))).toBe(added);
    // replaced where it is, the text after it untouched
    const middle = added + after;
    const refreshed = withSshConfigBlock(middle, block(['dev.knot', 'web.knot']));
    expect(refreshed).toBe(before + block(['dev.knot', 'web.knot']) + after);
    expect(withSshConfigBlock(refreshed, null)).toBe(before + after);
  });

  it('handles an empty file, a file without a final newline, CRLF, and removal of nothing', () => {
    expect(withSshConfigBlock('', block(['a.knot']))).toBe(block(['a.knot']));
    expect(withSshConfigBlock('Host x', block(['a.knot']))).toBe(`Host x\n${block(['a.knot'])}`);
    expect(withSshConfigBlock('Host x\r\n', null)).toBe('Host x\r\n');
    const crlf = `Host x\r\n${BLOCK_START}\r\nHost old.knot\r\n${BLOCK_END}\r\nHost y\r\n`;
    expect(withSshConfigBlock(crlf, null)).toBe('Host x\r\nHost y\r\n');
  });
});

test('knot known_hosts: one line per alias, replaced when it changes', () => {
  const first = mergeKnownHosts('', ['dev.knot ssh-ed25519 AAAA1']);
  expect(first).toBe('dev.knot ssh-ed25519 AAAA1\n');
  const two = mergeKnownHosts(first, ['web.knot ssh-ed25519 AAAA2']);
  expect(two).toBe('dev.knot ssh-ed25519 AAAA1\nweb.knot ssh-ed25519 AAAA2\n');
  expect(mergeKnownHosts(two, ['dev.knot ssh-ed25519 AAAA3'])).toBe('web.knot ssh-ed25519 AAAA2\ndev.knot ssh-ed25519 AAAA3\n');
});

test('shell quoting for the ProxyCommand', () => {
  expect(shellQuote('/usr/bin/node')).toBe('/usr/bin/node');
  expect(shellQuote("/my dir/it's")).toBe(`'/my dir/it'\\''s'`);
  expect(proxyCommandOf(['/a b/node', 'main.js'])).toBe(`'/a b/node' main.js forward ssh %h`);
});
