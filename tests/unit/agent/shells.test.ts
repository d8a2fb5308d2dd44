import { SHELL_DIRS, findOnPath, isShellName, resolveShell, shellSearchPath } from '../../../agent/shells';

const only = (...files: string[]) => (f: string) => files.includes(f);

describe('shell resolution', () => {
  it('searches the usual directories first, then $PATH, each once, absolute only', () => {
    expect(shellSearchPath('/opt/bin:/usr/bin:relative:')).toEqual([...SHELL_DIRS, '/opt/bin']);
    expect(shellSearchPath(undefined)).toEqual(SHELL_DIRS);
  });

  it('finds the requested shell', () => {
    expect(resolveShell('zsh', ['/usr/local/bin', '/usr/bin', '/bin'], only('/bin/sh', '/usr/bin/zsh'))).toEqual({ name: 'zsh', path: '/usr/bin/zsh' });
  });

  it('takes the first directory that has it', () => {
    expect(findOnPath('bash', ['/usr/local/bin', '/usr/bin'], only('/usr/bin/bash', '/usr/local/bin/bash'))).toBe('/usr/local/bin/bash');
  });

  it('falls back to sh with a notice when the shell is missing', () => {
    expect(resolveShell('zsh', ['/usr/bin', '/bin'], only('/bin/sh'))).toEqual({ name: 'sh', path: '/bin/sh', notice: 'zsh is not installed in this space; using sh' });
  });

  it('is null when not even sh exists', () => {
    expect(resolveShell('fish', ['/usr/bin'], only())).toBeNull();
  });

  it('knows the offered shell names', () => {
    expect(isShellName('bash')).toBe(true);
    expect(isShellName('python')).toBe(false);
    expect(isShellName('../bin/sh')).toBe(false);
  });

  it('finds sh on this machine', () => {
    expect(resolveShell('sh', shellSearchPath(process.env.PATH))?.path).toMatch(/\/sh$/);
  });
});
