/**
 * Which shell binary a terminal runs. The person picked a shell when creating the space, but the
 * image may not have it: then sh, with a notice saying so rather than a terminal that never opens.
 */
import { accessSync, constants, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHELLS, type ShellName } from '../link/protocol';

/** Searched first, so a space whose PATH is odd still finds its shells. */
export const SHELL_DIRS = ['/usr/local/bin', '/usr/bin', '/bin'];

export interface ResolvedShell {
  name: ShellName;
  path: string;
  /** set when the requested shell was not found and sh runs instead */
  notice?: string;
}

export function isShellName(name: string): name is ShellName {
  return (SHELLS as readonly string[]).includes(name);
}

/** The directories to search: SHELL_DIRS then $PATH's, each once. */
export function shellSearchPath(pathEnv: string | undefined): string[] {
  const fromEnv = (pathEnv ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d));
  return [...new Set([...SHELL_DIRS, ...fromEnv])];
}

export function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string, dirs: string[], exists: (file: string) => boolean = isExecutableFile): string | null {
  for (const dir of dirs) {
    const file = path.join(dir, name);
    if (exists(file)) return file;
  }
  return null;
}

/** The shell to run for `requested`, sh when it is missing, null when not even sh is there. */
export function resolveShell(requested: ShellName, dirs: string[], exists: (file: string) => boolean = isExecutableFile): ResolvedShell | null {
  const found = findOnPath(requested, dirs, exists);
  if (found) return { name: requested, path: found };
  const sh = findOnPath('sh', dirs, exists);
  if (!sh) return null;
  return { name: 'sh', path: sh, notice: `${requested} is not installed in this space; using sh` };
}

/**
 * The user's login shell for SSH sessions: the account's shell (passwd) when it is there, else
 * bash, else sh (an image may have no passwd entry for the user, or a shell it lacks).
 */
export function loginShell(dirs: string[], account: () => string | null = accountShell, exists: (file: string) => boolean = isExecutableFile): string {
  const own = account();
  if (own && path.isAbsolute(own) && exists(own) && !/\/(nologin|false)$/.test(own)) return own;
  return resolveShell('bash', dirs, exists)?.path ?? '/bin/sh';
}

function accountShell(): string | null {
  try {
    return os.userInfo().shell;
  } catch {
    return null; // no passwd entry for this uid
  }
}
