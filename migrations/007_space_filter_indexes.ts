/**
 * The space list's filters, each answered from an index in the list's (created_at, id) order:
 *  - by name prefix: a range of `active_name` (a live space's name, NULL once deleted), whose
 *    matches come with their (created_at, id) from the index alone, without reading their rows;
 *  - by phase and by template: walked in (created_at, id) order from the cursor.
 * Before, a filter that matched few spaces walked every live space to find its page (a rare name
 * prefix: 87 ms on SQLite, 0.3 s on MariaDB at 100,000 spaces; a phase no space has: 59 ms on
 * SQLite), and MariaDB intersected `spaces(template_id)` with `spaces(deleted_at)` and sorted a
 * template's 20,000 spaces for each page (0.2 s). `spaces(template_id)` goes: the new
 * (template_id, created_at, id) serves its lookups too. Figures: bench/RESULTS.md, §8.
 */
import type { Knex } from 'knex';

const INDEXES: [string[], string][] = [
  [['active_name', 'created_at', 'id'], 'spaces_name_created_index'],
  [['phase', 'created_at', 'id'], 'spaces_phase_created_index'],
  [['template_id', 'created_at', 'id'], 'spaces_template_created_index'],
];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('spaces', (t) => {
    for (const [columns, name] of INDEXES) t.index(columns, name);
  });
  await knex.schema.alterTable('spaces', (t) => t.dropIndex(['template_id'], 'spaces_template_id_index'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('spaces', (t) => t.index(['template_id'], 'spaces_template_id_index'));
  await knex.schema.alterTable('spaces', (t) => {
    for (const [columns, name] of INDEXES) t.dropIndex(columns, name);
  });
}
