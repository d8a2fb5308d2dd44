/** Finds and loads knot.yml (flag, KNOT_CONFIG, ./knot.yml) and applies KNOT_* overrides. */
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig, type KnotConfig } from '../core/config';

export function configPath(flag?: string): string | null {
  const p = flag ?? process.env.KNOT_CONFIG ?? (existsSync('knot.yml') ? 'knot.yml' : null);
  return p ?? null;
}

/** Exits the process with the key and the reason when the configuration is wrong. */
export function loadConfigOrExit(flag?: string): KnotConfig {
  const p = configPath(flag);
  try {
    if (p && !existsSync(p)) throw new Error(`${p}: no such file`);
    const text = p ? readFileSync(p, 'utf8') : '';
    return loadConfig(text, process.env, p ?? '(defaults)');
  } catch (e) {
    process.stderr.write(`knot: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
