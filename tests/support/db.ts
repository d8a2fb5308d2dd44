/**
 * Real stores for tests, each fresh and migrated (store/scratch.ts): an SQLite file, a MariaDB
 * database on the server `scripts/services.sh` started (KNOT_TEST_MYSQL), or a key prefix of its
 * own on the Redis server it started (KNOT_TEST_REDIS).
 */
import { openScratchStore, type ScratchStore } from '../../store/scratch';
import type { StoreKind } from '../../store/store';

export type { StoreKind };
export type TestStore = ScratchStore;

function need(name: 'KNOT_TEST_MYSQL' | 'KNOT_TEST_REDIS'): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts MariaDB and Redis`);
  return v;
}

/** Every store kind: the test command always provisions MariaDB and Redis. */
export function storeKinds(): StoreKind[] {
  need('KNOT_TEST_MYSQL');
  need('KNOT_TEST_REDIS');
  return ['sqlite', 'mysql', 'redis'];
}

/** The SQL kinds, for what only SQL has (migrations, raw tables). */
export function sqlKinds(): ('sqlite' | 'mysql')[] {
  need('KNOT_TEST_MYSQL');
  return ['sqlite', 'mysql'];
}

export function createTestStore(kind: StoreKind, opts: { migrate?: boolean } = {}): Promise<TestStore> {
  return openScratchStore(kind, { mysql: process.env.KNOT_TEST_MYSQL, redis: process.env.KNOT_TEST_REDIS }, opts);
}
