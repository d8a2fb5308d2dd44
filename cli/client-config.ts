/**
 * Where the client verbs find the server: KNOT_URL and KNOT_TOKEN, else the file `knot login`
 * writes ($XDG_CONFIG_HOME/knot/config.json, mode 0600: it holds a token).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ClientConfig {
  url: string;
  token: string;
}

export function clientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'knot', 'config.json');
}

export function readSavedConfig(env: NodeJS.ProcessEnv = process.env): Partial<ClientConfig> {
  const file = clientConfigPath(env);
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ClientConfig>;
    return { ...(typeof parsed.url === 'string' ? { url: parsed.url } : {}), ...(typeof parsed.token === 'string' ? { token: parsed.token } : {}) };
  } catch {
    throw new Error(`${file} is not valid JSON; run 'knot login' again`);
  }
}

/** Environment first, then the saved login; an error names what is missing. */
export function resolveClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const saved = readSavedConfig(env);
  const url = env.KNOT_URL || saved.url;
  const token = env.KNOT_TOKEN || saved.token;
  if (!url || !token) throw new Error(`not logged in: set KNOT_URL and KNOT_TOKEN, or run 'knot login --url <url>'`);
  return { url, token };
}

export function saveClientConfig(cfg: ClientConfig, env: NodeJS.ProcessEnv = process.env): string {
  const file = clientConfigPath(env);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
  // an existing file keeps its mode on write: make sure the token is private
  chmodSync(file, 0o600);
  return file;
}
