/**
 * The migration list, imported statically so the same source works from TypeScript (tests) and
 * compiled JavaScript (dist) without knex scanning a folder for file extensions.
 */
import type { Knex } from 'knex';
import * as m001 from './001_initial';
import * as m002 from './002_events';
import * as m003 from './003_sessions';
import * as m004 from './004_space_list_indexes';
import * as m005 from './005_agent_tokens';
import * as m006 from './006_ssh_keys';
import * as m007 from './007_space_filter_indexes';
import * as m009 from './009_space_shares';
import * as m008 from './008_webhooks';
import * as m010 from './010_quotas';
import * as m011 from './011_autostart';
import * as m012 from './012_dormancy';
import * as m013 from './013_pending_operations_index';
import * as m014 from './014_operation_begin';

const MIGRATIONS: Record<string, Knex.Migration> = {
  '001_initial': m001,
  '002_events': m002,
  '003_sessions': m003,
  '004_space_list_indexes': m004,
  '005_agent_tokens': m005,
  '006_ssh_keys': m006,
  '007_space_filter_indexes': m007,
  '009_space_shares': m009,
  '008_webhooks': m008,
  '010_quotas': m010,
  '011_autostart': m011,
  '012_dormancy': m012,
  '013_pending_operations_index': m013,
  '014_operation_begin': m014,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const m = MIGRATIONS[name];
    if (!m) throw new Error(`unknown migration ${name}`);
    return m;
  },
};
