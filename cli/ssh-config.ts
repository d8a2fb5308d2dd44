/**
 * The pure parts of `knot ssh` and `knot ssh-config`: the block knot owns in ~/.ssh/config (between
 * two marker lines, replaced in place, everything else left byte for byte), the Host entries in
 * it, knot's own known_hosts file (one pinned line per space alias), and the ProxyCommand.
 */

export const BLOCK_START = '# >>> knot ssh-config >>>';
export const BLOCK_END = '# <<< knot ssh-config <<<';

export interface SshHostEntry {
  /** `<space>.knot` (or `<space>.<owner>.knot`): the Host, and the HostKeyAlias the key is pinned under */
  host: string;
  /** the SSH user name: the space owner's username */
  user: string;
}

/** A word for a POSIX shell (OpenSSH runs ProxyCommand with `$SHELL -c`). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The ProxyCommand that runs this very knot (`node main.js`, or the installed `knot`). */
export function proxyCommandOf(argv: string[]): string {
  return `${argv.map(shellQuote).join(' ')} forward ssh %h`;
}

/** The options every knot SSH host gets: through knot, its key pinned in knot's own known_hosts. */
export function hostOptions(entry: SshHostEntry, proxyCommand: string, knownHostsFile: string): [string, string][] {
  return [
    ['User', entry.user],
    ['ProxyCommand', proxyCommand],
    ['HostKeyAlias', entry.host],
    ['UserKnownHostsFile', knownHostsFile.includes(' ') ? `"${knownHostsFile}"` : knownHostsFile],
    // the key is pinned: a changed host key is refused, never accepted or learned silently
    ['StrictHostKeyChecking', 'yes'],
  ];
}

/** The block's text, markers included, one Host per entry (sorted, so a refresh is stable). */
export function renderSshConfigBlock(entries: SshHostEntry[], proxyCommand: string, knownHostsFile: string): string {
  const lines = [BLOCK_START, "# Written by 'knot ssh-config'; run it again to refresh, 'knot ssh-config --remove' to take it out."];
  for (const e of [...entries].sort((a, b) => a.host.localeCompare(b.host))) {
    lines.push(`Host ${e.host}`);
    for (const [k, v] of hostOptions(e, proxyCommand, knownHostsFile)) lines.push(`  ${k} ${v}`);
  }
  lines.push(BLOCK_END);
  return `${lines.join('\n')}\n`;
}

/** Where the block is in `text`: [start, end) in characters, end past its last line's newline. */
function findBlock(text: string): [number, number] | null {
  const lines = text.split(/(?<=\n)/);
  let offset = 0;
  let start = -1;
  for (const line of lines) {
    const bare = line.replace(/\r?\n$/, '').trimEnd();
    if (start < 0 && bare === BLOCK_START) start = offset;
    else if (start >= 0 && bare === BLOCK_END) return [start, offset + line.length];
    offset += line.length;
  }
  return null;
}

/**
 * `text` with knot's block set to `block` (null: removed). An existing block is replaced where it
 * is; a new one goes at the end. Nothing outside the block changes.
 */
export function withSshConfigBlock(text: string, block: string | null): string {
  const at = findBlock(text);
  if (at) {
    const [start, end] = at;
    const after = text.slice(end);
    return text.slice(0, start) + (block ?? '') + (block && !block.endsWith('\n') && after ? '\n' : '') + after;
  }
  if (block === null) return text;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  return `${text}${sep}${block}`;
}

/** knot's known_hosts with `lines` in it: a line for a host already there replaces the old one. */
export function mergeKnownHosts(text: string, lines: string[]): string {
  const hostOf = (line: string) => line.trim().split(/\s+/)[0] ?? '';
  const replaced = new Set(lines.map(hostOf));
  const kept = text.split('\n').filter((l) => l.trim() !== '' && !replaced.has(hostOf(l)));
  return `${[...kept, ...lines].join('\n')}\n`;
}
