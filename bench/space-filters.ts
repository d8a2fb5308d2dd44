/**
 * The space list's filters on each store at scale: for each store in BENCH_STORES (default
 * `sqlite,mysql,redis`), a fresh scratch store with BENCH_FILTER_SPACES (100,000) spaces of 10
 * owners (10 % each, created one owner after the other, so a name prefix's matches cluster in
 * time) on 5 templates, 60 % running, 30 % stopped, 10 % deleted, named `p<owner>x<i>`; then the
 * first page (50) of each filter below through the store interface, 5 times, median, and the
 * page after it. On SQL the same again without migration 007's indexes (the "before"). MariaDB and
 * Redis are the servers `scripts/services.sh start` runs (KNOT_TEST_MYSQL, KNOT_TEST_REDIS).
 */
import { newId } from '../core/names';
import type { SpaceFilter } from '../store/model';
import { openScratchStore, type ScratchStore } from '../store/scratch';
import type { StoreKind } from '../store/store';
import { insertSpaces } from './bulk-spaces';
import { envInt } from './env';
import { benchLine, loadContext, loadFields, note } from './report';
import { round } from './stats';

const KINDS: readonly StoreKind[] = ['sqlite', 'mysql', 'redis'];
const OWNERS = 10;
const PAGE = 50;

type Filter = Omit<SpaceFilter, 'limit' | 'after'>;

async function seed(s: ScratchStore, count: number): Promise<{ ownerIds: string[]; templateIds: string[] }> {
  const now = Date.now();
  const ownerIds: string[] = [];
  const templateIds: string[] = [];
  for (let i = 0; i < OWNERS; i++) ownerIds.push((await s.store.users.insert({ id: newId(now), username: `owner${i}`, email: '', timezone: 'UTC', role: 'user', active: true }, now)).id);
  for (let i = 0; i < 5; i++) {
    const v = { versionId: newId(now), version: '1.0.0', contentHash: `h${i}`, content: {}, createdBy: null };
    templateIds.push((await s.store.templates.insert(newId(now), { name: `tpl${i}`, displayName: '', description: '', type: 'nomad', groups: [] }, v, now)).id);
  }
  for (const [o, ownerId] of ownerIds.entries()) {
    await insertSpaces(s.store, {
      count: count / OWNERS,
      ownerId,
      templateId: templateIds[o % templateIds.length]!,
      namePrefix: `p${o}x`,
      phase: (i) => (i % 10 < 6 ? 'running' : 'stopped'),
      startedAt: (i) => (i % 10 < 6 ? now - 1000 : null),
      deletedAt: (i) => (i % 10 === 9 ? now - 1000 : null),
      batchSize: 1000,
    });
  }
  return { ownerIds, templateIds };
}

function cases(ownerIds: string[], templateIds: string[]): Record<string, Filter> {
  return {
    none: {},
    newest: { newestFirst: true },
    prefix_10pct: { namePrefix: 'p3' },
    prefix_1pct: { namePrefix: 'p3x1' },
    prefix_one: { namePrefix: 'p3x1234' },
    prefix_no_match: { namePrefix: 'zz' },
    prefix_all: { namePrefix: 'p' },
    prefix_all_newest: { namePrefix: 'p', newestFirst: true },
    phase_stopped: { phase: 'stopped' },
    phase_failed_none: { phase: 'failed' },
    template: { templateId: templateIds[0]! },
    template_newest: { templateId: templateIds[4]!, newestFirst: true },
    owner: { ownerId: ownerIds[3]! },
    owner_prefix: { ownerId: ownerIds[3]!, namePrefix: 'p3x1' },
    prefix_phase: { namePrefix: 'p3x1', phase: 'stopped' },
  };
}

async function measure(s: ScratchStore, all: Record<string, Filter>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let worst = 0;
  for (const [name, f] of Object.entries(all)) {
    const times: number[] = [];
    let last: { createdAt: number; id: string } | undefined;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const page = await s.store.spaces.list({ ...f, limit: PAGE + 1 });
      times.push(performance.now() - t0);
      const l = page[PAGE - 1];
      last = l ? { createdAt: l.createdAt, id: l.id } : undefined;
    }
    times.sort((a, b) => a - b);
    out[`${name}_ms`] = round(times[2]!);
    if (last) {
      const t0 = performance.now();
      await s.store.spaces.list({ ...f, limit: PAGE + 1, after: last });
      out[`${name}_next_ms`] = round(performance.now() - t0);
    }
    worst = Math.max(worst, times[2]!, out[`${name}_next_ms`] ?? 0);
  }
  return { ...out, worst_ms: round(worst) };
}

/** Migration 007 undone by hand on a migrated SQL store: the indexes the filters had before. */
async function dropFilterIndexes(s: ScratchStore): Promise<void> {
  const sql = s.sql!;
  await sql.schema.alterTable('spaces', (t) => t.index(['template_id'], 'spaces_template_id_index'));
  await sql.schema.alterTable('spaces', (t) => {
    t.dropIndex(['active_name', 'created_at', 'id'], 'spaces_name_created_index');
    t.dropIndex(['phase', 'created_at', 'id'], 'spaces_phase_created_index');
    t.dropIndex(['template_id', 'created_at', 'id'], 'spaces_template_created_index');
  });
}

export async function runSpaceFilters(): Promise<string> {
  const raw = process.env.BENCH_STORES;
  const kinds = (raw ? raw.split(',').map((k) => k.trim()) : [...KINDS]) as StoreKind[];
  const count = envInt('BENCH_FILTER_SPACES', 100_000);
  const lines: string[] = [];
  for (const kind of kinds) {
    if ((kind === 'mysql' && !process.env.KNOT_TEST_MYSQL) || (kind === 'redis' && !process.env.KNOT_TEST_REDIS)) {
      note(`space-filters: ${kind} skipped: no server (run \`eval "$(bash scripts/services.sh start)"\` first)`);
      continue;
    }
    const s = await openScratchStore(kind, { mysql: process.env.KNOT_TEST_MYSQL, redis: process.env.KNOT_TEST_REDIS });
    try {
      const t0 = performance.now();
      const { ownerIds, templateIds } = await seed(s, count);
      note(`space-filters ${kind}: ${count} spaces stored in ${Math.round(performance.now() - t0)} ms`);
      const all = cases(ownerIds, templateIds);
      const before = loadContext();
      lines.push(benchLine('space-filters', { kind, spaces: count, indexes: 'current', ...(await measure(s, all)), ...loadFields('load', before) }));
      if (s.sql) {
        await dropFilterIndexes(s);
        lines.push(benchLine('space-filters', { kind, spaces: count, indexes: 'before-007', ...(await measure(s, all)), ...loadFields('load', loadContext()) }));
      }
    } finally {
      await s.cleanup();
    }
  }
  return lines.join('\n');
}
