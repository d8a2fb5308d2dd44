/**
 * store/sql/fast-sql.ts on a real SQLite file: statements run on the connection of the handle they
 * were given — a transaction's own connection inside it, the pool's outside (waiting while a
 * transaction holds it) — and never through knex there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createDb, migrateLatest, type Db } from '../../../store/sql/db';
import { run, selectRows, statementTransaction } from '../../../store/sql/fast-sql';

const INSERT = 'insert into `events` (`at`, `data`, `operation_id`, `owner_id`, `space_id`, `type`) values (?, ?, ?, ?, ?, ?)';
const insertEvent = (db: Db | Knex.Transaction, spaceId: string, at: unknown = 1) => run(db, INSERT, [at, '{}', null, null, spaceId, 'test']);
const spacesOfEvents = async (db: Db | Knex.Transaction) => (await selectRows(db, 'select `space_id` from `events` order by `id` asc')).map((r) => r.space_id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fast SQL on SQLite', () => {
  let dir: string;
  let db: Db;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'knot-fast-sql-'));
    db = createDb({ client: 'sqlite', filename: path.join(dir, 'knot.db') });
    await migrateLatest(db);
  });
  afterAll(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  /** What ran through knex (a transaction's queries are reported by the pool's knex too). */
  let throughKnex: string[] = [];
  beforeAll(() => {
    db.on('query', (q: { sql: string }) => throughKnex.push(q.sql));
  });
  beforeEach(async () => {
    await db('events').delete();
    throughKnex = [];
  });
  afterEach(() => {
    // transaction control is knex's; every statement of the tests is on the prepared path
    expect(throughKnex.filter((sql) => !/^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b/i.test(sql))).toEqual([]);
  });

  test('inside a transaction a read sees its own uncommitted write; a rollback leaves nothing', async () => {
    await expect(
      db.transaction(async (trx) => {
        const inserted = await insertEvent(trx, 'rolled-back');
        expect(inserted.changes).toBe(1);
        expect(await selectRows(trx, 'select `space_id`, `type` from `events` where `id` = ?', [inserted.lastInsertRowid])).toEqual([{ space_id: 'rolled-back', type: 'test' }]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await spacesOfEvents(db)).toEqual([]);
  });

  test('a savepoint rolled back takes its writes, the transaction keeps its own', async () => {
    await db.transaction(async (trx) => {
      await insertEvent(trx, 'outer');
      await expect(
        trx.transaction(async (inner) => {
          await insertEvent(inner, 'inner');
          expect(await spacesOfEvents(inner)).toEqual(['outer', 'inner']);
          throw new Error('roll back the savepoint');
        }),
      ).rejects.toThrow('roll back the savepoint');
      expect(await spacesOfEvents(trx)).toEqual(['outer']);
    });
    expect(await spacesOfEvents(db)).toEqual(['outer']);
  });

  test('a statement outside waits while a transaction holds the connection, and never runs inside it', async () => {
    let outsideDone = false;
    let outside: Promise<unknown> = Promise.resolve();
    await expect(
      db.transaction(async (trx) => {
        await insertEvent(trx, 'inside');
        outside = Promise.all([insertEvent(db, 'outside'), spacesOfEvents(db)]).then(([, seen]) => {
          outsideDone = true;
          return seen;
        });
        await sleep(50);
        expect(outsideDone).toBe(false);
        expect(await spacesOfEvents(trx)).toEqual(['inside']);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    // the outside write ran after the rollback, on its own: had it run in the transaction, it would be gone
    expect(await outside).toEqual(['outside']);
    expect(await spacesOfEvents(db)).toEqual(['outside']);
  });

  test('a completed transaction is refused, as knex refuses it', async () => {
    let done: Knex.Transaction | undefined;
    await db.transaction(async (trx) => {
      done = trx;
      await insertEvent(trx, 'committed');
    });
    await expect(insertEvent(done!, 'late')).rejects.toThrow('Transaction query already complete');
    await expect(selectRows(done!, 'select 1')).rejects.toThrow('Transaction query already complete');
    expect(await spacesOfEvents(db)).toEqual(['committed']);
  });

  test('a statement-only transaction commits its statements together, with no knex at all', async () => {
    const result = await statementTransaction(db, async (tx) => {
      await insertEvent(tx, 'one');
      await insertEvent(tx, 'two');
      return spacesOfEvents(tx);
    });
    expect(result).toEqual(['one', 'two']);
    expect(await spacesOfEvents(db)).toEqual(['one', 'two']);
    // not even BEGIN and COMMIT went through knex
    expect(throughKnex).toEqual([]);
  });

  test('a statement-only transaction rolls back on a throw, and refuses the query builder', async () => {
    await expect(
      statementTransaction(db, async (tx) => {
        await insertEvent(tx, 'rolled-back');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await expect(
      statementTransaction(db, async (tx) => {
        await insertEvent(tx, 'rolled-back too');
        await (tx as Db)('events').select('id');
      }),
    ).rejects.toThrow(/statement-only transaction/);
    expect(await spacesOfEvents(db)).toEqual([]);
    // the connection went back to the pool each time: the next statement gets it
    await insertEvent(db, 'after');
    expect(await spacesOfEvents(db)).toEqual(['after']);
  });

  test('statements and knex transactions outside wait for a statement-only transaction; a completed one is refused', async () => {
    let outside: Promise<unknown> = Promise.resolve();
    let knexTransaction: Promise<unknown> = Promise.resolve();
    let done: Knex.Transaction | undefined;
    await statementTransaction(db, async (tx) => {
      done = tx as Knex.Transaction;
      await insertEvent(tx, 'first');
      outside = insertEvent(db, 'outside');
      knexTransaction = db.transaction((trx) => insertEvent(trx, 'knex'));
      await sleep(50);
      expect(await spacesOfEvents(tx)).toEqual(['first']);
    });
    await Promise.all([outside, knexTransaction]);
    const all = await spacesOfEvents(db);
    expect(all[0]).toBe('first');
    expect([...all].sort()).toEqual(['first', 'knex', 'outside']);
    await expect(insertEvent(done!, 'late')).rejects.toThrow('Transaction query already complete');
  });

  test('writes count their changes and bind as knex does (booleans 0/1, dates as epoch ms)', async () => {
    const at = new Date('2025-06-01T00:00:00Z');
    await insertEvent(db, 'a', at);
    await insertEvent(db, 'b', true);
    expect(await selectRows(db, 'select `space_id`, `at` from `events` order by `id` asc')).toEqual([
      { space_id: 'a', at: at.valueOf() },
      { space_id: 'b', at: 1 },
    ]);
    expect((await run(db, 'update `events` set `type` = ? where `type` = ?', ['changed', 'test'])).changes).toBe(2);
    expect((await run(db, 'delete from `events` where `space_id` = ?', ['a'])).changes).toBe(1);
  });
});
