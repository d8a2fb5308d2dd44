/**
 * `srv+name` host notation (seed 001: `host: srv+redis.service.consul`): resolved with a DNS SRV
 * lookup, lowest priority first, then highest weight. The resolver is injected so this stays pure.
 */
export interface SrvRecordLike {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export type SrvLookup = (name: string) => Promise<SrvRecordLike[]>;

export function isSrvHost(host: string): boolean {
  return host.startsWith('srv+');
}

export function pickSrvTarget(records: readonly SrvRecordLike[]): SrvRecordLike | undefined {
  return [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
}

/** `srv+name` → the chosen target's host and port; anything else is returned as given. */
export async function resolveHost(host: string, port: number, lookup: SrvLookup): Promise<{ host: string; port: number }> {
  if (!isSrvHost(host)) return { host, port };
  const name = host.slice('srv+'.length);
  const target = pickSrvTarget(await lookup(name));
  if (!target) throw new Error(`DNS SRV lookup for ${name} returned no records`);
  return { host: target.name, port: target.port };
}
