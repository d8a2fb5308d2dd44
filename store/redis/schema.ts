/**
 * The Redis "schema": the key layout of keys.ts has a version, kept at `<prefix>schema`. A future
 * layout change bumps it and adds a step here that rewrites the keys; a knot older than the data
 * refuses to touch it.
 */
import type Redis from 'ioredis';
import { guarded } from './errors';
import type { Keys } from './keys';
import type { ConnectionPool } from './pool';

export const REDIS_SCHEMA_VERSION = 1;

/** Keys unlinked per round trip by `dropAll`. */
const SCAN_COUNT = 1000;

/** Creates or upgrades the layout; the steps applied. */
export async function migrate(redis: Redis, pool: ConnectionPool, keys: Keys, location: string): Promise<string[]> {
  const stored = await guarded(redis.get(keys.schema));
  if (stored === null) {
    // NX: two servers starting at once both find it absent; setting it twice would be harmless,
    // but only one of them applied the step
    const set = await pool.use((conn) => conn.set(keys.schema, String(REDIS_SCHEMA_VERSION), 'NX'));
    return set === 'OK' ? [`redis schema ${REDIS_SCHEMA_VERSION}`] : migrate(redis, pool, keys, location);
  }
  const version = Number(stored);
  if (!Number.isInteger(version) || version < 1) throw new Error(`the Redis store at ${location} (prefix '${keys.prefix}') holds an unknown schema version '${stored}'`);
  if (version > REDIS_SCHEMA_VERSION) {
    throw new Error(
      `the Redis store at ${location} (prefix '${keys.prefix}') was written by a newer knot (schema ${version}; this knot knows up to ${REDIS_SCHEMA_VERSION}): upgrade knot`,
    );
  }
  return [];
}

/** SCAN MATCH treats these as a pattern; the prefix is meant literally. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Deletes every key under the prefix (SCAN + UNLINK: never KEYS, which blocks Redis). */
export async function dropAll(redis: Redis, keys: Keys): Promise<void> {
  const match = `${globLiteral(keys.prefix)}*`;
  let cursor = '0';
  do {
    const [next, found] = await guarded(redis.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT));
    if (found.length > 0) await guarded(redis.unlink(...found));
    cursor = next;
  } while (cursor !== '0');
}
