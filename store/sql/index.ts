/** The SQL driver: MySQL/MariaDB (mysql2) or SQLite (better-sqlite3) through knex. */
import type { Knex } from 'knex';
import type { Repositories, Store, TransactionOptions } from '../store';
import { SqlAgentStateStore } from './agent-state';
import { sqlAgentTokens } from './agent-tokens';
import { sqlAudit } from './audit';
import { dbReachable, migrateDown, migrateLatest, type Db, type DbTarget, type Queryable, type SqlKind } from './db';
import { SqlEventLog, sqlEvents, type AfterCommit } from './events';
import { statementTransaction } from './fast-sql';
import { sqlGroups } from './groups';
import { sqlOperations } from './operations';
import { sqlQuotas } from './quotas';
import { sqlAutostarts } from './autostarts';
import { sqlDormancy } from './dormancy';
import { sqlSessions } from './sessions';
import { sqlSpaces } from './spaces';
import { sqlSpaceShares } from './space-shares';
import { sqlSshKeys } from './ssh-keys';
import { sqlSteps } from './steps';
import { sqlTemplates } from './templates';
import { sqlTokens } from './tokens';
import { sqlUsers } from './users';
import { sqlVariables } from './variables';
import { sqlVolumes } from './volumes';
import { sqlWebhooks } from './webhooks';

export { createDb, dbTargetFromConfig, type Db, type DbTarget } from './db';

function repositories(q: Queryable, kind: SqlKind, pool: Db, log: SqlEventLog, afterCommit: AfterCommit | null): Repositories {
  return {
    users: sqlUsers(q),
    groups: sqlGroups(q),
    tokens: sqlTokens(q),
    sessions: sqlSessions(q),
    sshKeys: sqlSshKeys(q),
    agentTokens: sqlAgentTokens(q),
    templates: sqlTemplates(q),
    variables: sqlVariables(q),
    spaces: sqlSpaces(q, kind),
    shares: sqlSpaceShares(q),
    volumes: sqlVolumes(q),
    operations: sqlOperations(q),
    steps: sqlSteps(q),
    events: sqlEvents(q, log, pool, afterCommit),
    audit: sqlAudit(q),
    webhooks: sqlWebhooks(q),
    quotas: sqlQuotas(q, kind),
    autostarts: sqlAutostarts(q),
    dormancy: sqlDormancy(q),
  };
}

export interface SqlStore extends Store {
  readonly kind: 'sqlite' | 'mysql';
  /** the knex pool, for SQL-only tools (bulk loading in benchmarks, migration tests) */
  readonly db: Db;
}

/** A store over this knex pool; `close()` destroys the pool. */
export function createSqlStore(db: Db, target: DbTarget): SqlStore {
  const log = new SqlEventLog();
  return {
    kind: target.client,
    db,
    ...repositories(db, target.client, db, log, null),
    async transaction<T>(work: (tx: Repositories) => Promise<T>, opts?: TransactionOptions): Promise<T> {
      const after: (() => Promise<void>)[] = [];
      const inTransaction = (q: Queryable) => work(repositories(q, target.client, db, log, (fn) => after.push(fn)));
      const result = opts?.stepRecordsOnly ? await statementTransaction(db, inTransaction) : await db.transaction((trx: Knex.Transaction) => inTransaction(trx));
      for (const fn of after) await fn();
      return result;
    },
    agentState: (ttlMs, clock) => new SqlAgentStateStore(db, ttlMs, clock),
    migrate: () => migrateLatest(db),
    migrateDown: () => migrateDown(db),
    ping: () => dbReachable(db),
    describe: () => (target.client === 'sqlite' ? `sqlite ${target.filename}` : `mysql ${target.host}:${target.port}/${target.database}`),
    close: () => db.destroy(),
  };
}
