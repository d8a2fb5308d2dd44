/**
 * The Redis "schema": the key layout of keys.ts has a version, kept at `<prefix>schema`. A layout
 * change bumps it and adds a step here that rewrites the keys; a knot older than the data refuses
 * to touch it.
 */
import type Redis from 'ioredis';
import type { Operation, Space } from '../model';
import { guarded } from './errors';
import { idOfMember, lexExclusive, LEX_MAX, LEX_MIN, orderedMember, type Keys } from './keys';
import { isNotStarted } from './operations';
import type { ConnectionPool } from './pool';
import { spaceNameMember } from './spaces';

export const REDIS_SCHEMA_VERSION = 3;

/** Keys unlinked per round trip by `dropAll`. */
const SCAN_COUNT = 1000;
/** Live spaces read per round trip by a step. */
const STEP_PAGE = 500;

/**
 * 1 → 2: the name index of live spaces (the space list's name filter). Idempotent, so two servers
 * upgrading at once do no harm; a space deleted while the step runs may leave a member behind,
 * which the list skips (its document no longer holds it).
 */
async function indexSpaceNames(redis: Redis, keys: Keys): Promise<void> {
  let min = LEX_MIN;
  for (;;) {
    const members = await guarded(redis.zrangebylex(keys.liveSpaces, min, LEX_MAX, 'LIMIT', 0, STEP_PAGE));
    const last = members[members.length - 1];
    if (last === undefined) return;
    const docs = await guarded(redis.mget(...members.map((m) => keys.space(idOfMember(m)))));
    const names = docs.flatMap((d) => {
      const s = d === null ? null : (JSON.parse(d) as Space);
      return s && s.deletedAt === null ? [spaceNameMember(s)] : [];
    });
    if (names.length > 0) await guarded(redis.zadd(keys.spacesByName, ...names.flatMap((n) => [0, n])));
    min = lexExclusive(last);
  }
}

/**
 * 2 → 3: the index of operations still pending without a run (the cleanup sweep's never-started
 * pass). They are found through `ops:overdue`, which holds every pending or running operation
 * with a deadline (knot records one on each), not by reading every operation. Idempotent; an
 * operation that starts while the step runs may leave a member behind, which the query skips
 * (its document no longer holds it).
 */
async function indexNotStartedOperations(redis: Redis, keys: Keys): Promise<void> {
  let min = LEX_MIN;
  for (;;) {
    const members = await guarded(redis.zrangebylex(keys.operationDeadlines, min, LEX_MAX, 'LIMIT', 0, STEP_PAGE));
    const last = members[members.length - 1];
    if (last === undefined) return;
    const docs = await guarded(redis.mget(...members.map((m) => keys.operation(idOfMember(m)))));
    const notStarted = docs.flatMap((d) => {
      const op = d === null ? null : (JSON.parse(d) as Operation);
      return op && isNotStarted(op) ? [orderedMember(op.createdAt, op.id)] : [];
    });
    if (notStarted.length > 0) await guarded(redis.zadd(keys.operationsNotStarted, ...notStarted.flatMap((m) => [0, m])));
    min = lexExclusive(last);
  }
}

/** STEPS[v] takes the layout from version v to v + 1. */
const STEPS: Record<number, { name: string; run: (redis: Redis, keys: Keys) => Promise<void> }> = {
  1: { name: 'redis schema 2: space name index', run: indexSpaceNames },
  2: { name: 'redis schema 3: never-started operations index', run: indexNotStartedOperations },
};

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
  const applied: string[] = [];
  for (let v = version; v < REDIS_SCHEMA_VERSION; v++) {
    const step = STEPS[v];
    if (!step) throw new Error(`no step from Redis schema ${v} to ${v + 1}`);
    await step.run(redis, keys);
    await pool.use((conn) => conn.set(keys.schema, String(v + 1)));
    applied.push(step.name);
  }
  return applied;
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
