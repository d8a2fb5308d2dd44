/**
 * The cleanup sweep's never-started pass (activities/sweeps/never-started-operations.ts) pages
 * through `pending` operations in (created_at, id) order. `operations(status, deadline_at)` finds
 * the pending rows but not in that order, so every page would sort all of them; this index hands
 * them out in order from the cursor, reading only the `pending` range of the index (an operation
 * leaves `pending` when its workflow begins, so that range is small beside all finished rows).
 */
import type { Knex } from 'knex';

const COLUMNS = ['status', 'created_at', 'id'];
const NAME = 'operations_status_created_index';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.index(COLUMNS, NAME));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.dropIndex(COLUMNS, NAME));
}
