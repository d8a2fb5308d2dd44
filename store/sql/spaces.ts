/** Spaces on SQL. A deleted space keeps its row (audit, retention) but frees its name (`active_name`). */
import { chunks } from '../../core/batches';
import { alreadyInUse, notFound } from '../../core/errors';
import { TRANSITIONAL_PHASES } from '../../core/lifecycle';
import type { Space, SpaceFacts, SpacePhase } from '../model';
import type { SpaceRepository } from '../store';
import { isUniqueViolation, toJson, type Queryable, type SqlKind } from './db';
import { run, selectFirst, selectRows } from './fast-sql';

type Row = Record<string, unknown>;

function fromRow(r: Row): Space {
  return {
    id: r.id as string,
    name: r.name as string,
    ownerId: r.owner_id as string,
    templateId: r.template_id as string,
    templateRef: r.template_ref as string,
    parameters: toJson(r.parameters_json, {}),
    shell: r.shell as string,
    agentUrl: (r.agent_url as string | null) ?? null,
    phase: r.phase as SpacePhase,
    reason: r.reason as string,
    message: (r.message as string) ?? '',
    appliedVersion: (r.applied_version as string | null) ?? null,
    appliedHash: (r.applied_hash as string | null) ?? null,
    nomadJobId: (r.nomad_job_id as string | null) ?? null,
    lastOperationId: (r.last_operation_id as string | null) ?? null,
    startedAt: r.started_at == null ? null : Number(r.started_at),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    deletedAt: r.deleted_at == null ? null : Number(r.deleted_at),
  };
}

/**
 * `active_name` starts with `prefix`, in a form the dialect answers from an index: SQLite's LIKE
 * ignores case and so skips a BINARY index, a range does not; MariaDB turns a LIKE with a constant
 * prefix into an index range under any collation, where a hand-made upper bound would depend on it.
 */
function nameStartsSql(kind: SqlKind, prefix: string): { sql: string; args: string[] } {
  if (kind === 'mysql') return { sql: "`active_name` LIKE ? ESCAPE '!'", args: [`${prefix.replace(/[!%_]/g, '!$&')}%`] };
  const last = prefix.charCodeAt(prefix.length - 1);
  return { sql: '`active_name` >= ? and `active_name` < ?', args: [prefix, prefix.slice(0, -1) + String.fromCharCode(last + 1)] };
}

export function sqlSpaces(db: Queryable, kind: SqlKind): SpaceRepository {
  const spaces: SpaceRepository = {
    async insert(s, now) {
      const existing = await spaces.get(s.id);
      if (existing) return existing;
      try {
        await db('spaces').insert({
          id: s.id,
          name: s.name,
          owner_id: s.ownerId,
          active_name: s.name,
          template_id: s.templateId,
          template_ref: s.templateRef,
          parameters_json: JSON.stringify(s.parameters),
          shell: s.shell,
          agent_url: s.agentUrl,
          phase: 'stopped',
          reason: '',
          message: '',
          created_at: now,
          updated_at: now,
        });
      } catch (e) {
        if (isUniqueViolation(e)) {
          throw alreadyInUse(`a space named '${s.name}' already exists`, 'name');
        }
        throw e;
      }
      return (await spaces.get(s.id))!;
    },

    async get(id) {
      const r = await selectFirst(db, 'select * from `spaces` where `id` = ? limit 1', [id]);
      return r ? fromRow(r) : null;
    },

    async require(id) {
      const s = await spaces.get(id);
      if (!s || s.deletedAt) throw notFound('space', id);
      return s;
    },

    async getByName(ownerId, name) {
      const r = await db('spaces').where({ owner_id: ownerId, active_name: name }).first();
      return r ? fromRow(r) : null;
    },

    async list(f) {
      // written out rather than built by knex: every space list page runs it (fast-sql.ts)
      const where: string[] = [];
      const args: unknown[] = [];
      // active_name is a live space's name and NULL once it is deleted: a range on it keeps the
      // live spaces by itself, so (active_name, created_at, id) (migration 007) answers alone
      if (f.namePrefix) {
        const byName = nameStartsSql(kind, f.namePrefix);
        where.push(byName.sql);
        args.push(...byName.args);
      } else where.push('`deleted_at` is null');
      if (f.ownerId) {
        where.push('`owner_id` = ?');
        args.push(f.ownerId);
      }
      if (f.templateId) {
        where.push('`template_id` = ?');
        args.push(f.templateId);
      }
      if (f.phase) {
        where.push('`phase` = ?');
        args.push(f.phase);
      }
      const dir = f.newestFirst ? 'desc' : 'asc';
      if (f.after) {
        const a = f.after;
        const beyond = f.newestFirst ? '<' : '>';
        // the inclusive bound lets the (…, created_at, id) index start at the cursor instead of the first row
        where.push(`\`created_at\` ${beyond}= ? and (\`created_at\` ${beyond} ? or \`id\` ${beyond} ?)`);
        args.push(a.createdAt, a.createdAt, a.id);
      }
      const sql = `select * from \`spaces\` where ${where.join(' and ')} order by \`created_at\` ${dir}, \`id\` ${dir} limit ?`;
      return (await selectRows(db, sql, [...args, f.limit])).map(fromRow);
    },

    async update(id, patch, now) {
      const row: Row = { updated_at: now };
      if (patch.templateRef !== undefined) row.template_ref = patch.templateRef;
      if (patch.templateId !== undefined) row.template_id = patch.templateId;
      if (patch.parameters !== undefined) row.parameters_json = JSON.stringify(patch.parameters);
      if (patch.shell !== undefined) row.shell = patch.shell;
      if (patch.agentUrl !== undefined) row.agent_url = patch.agentUrl;
      if (patch.phase !== undefined) row.phase = patch.phase;
      if (patch.reason !== undefined) row.reason = patch.reason;
      if (patch.message !== undefined) row.message = patch.message;
      if (patch.appliedVersion !== undefined) row.applied_version = patch.appliedVersion;
      if (patch.appliedHash !== undefined) row.applied_hash = patch.appliedHash;
      if (patch.nomadJobId !== undefined) row.nomad_job_id = patch.nomadJobId;
      if (patch.lastOperationId !== undefined) row.last_operation_id = patch.lastOperationId;
      if (patch.startedAt !== undefined) row.started_at = patch.startedAt;
      // every lifecycle step moves the space: hand-written SQL on the fast path (fast-sql.ts); the
      // column names are this function's own, the SQL text one per set of fields patched
      const columns = Object.keys(row);
      await run(db, `update \`spaces\` set ${columns.map((c) => `\`${c}\` = ?`).join(', ')} where \`id\` = ?`, [...columns.map((c) => row[c]), id]);
    },

    async transfer(id, newOwnerId, now) {
      const s = await spaces.get(id);
      if (!s || s.deletedAt) throw notFound('space', id);
      try {
        await db('spaces').where({ id }).update({ owner_id: newOwnerId, updated_at: now });
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyInUse(`the new owner already has a space named '${s.name}'`, 'to');
        throw e;
      }
    },

    async markDeleted(id, now) {
      await db('spaces').where({ id }).update({ phase: 'deleted', active_name: null, deleted_at: now, updated_at: now, nomad_job_id: null, reason: '', message: '' });
    },

    async countUsingTemplate(templateId) {
      const r = await db('spaces').where({ template_id: templateId }).whereNull('deleted_at').count<{ n: number }[]>({ n: '*' });
      return Number(r[0]?.n ?? 0);
    },

    async countOwnedBy(userId, includeDeleted) {
      const q = db('spaces').where({ owner_id: userId });
      if (!includeDeleted) q.whereNull('deleted_at');
      const r = await q.count<{ n: number }[]>({ n: '*' });
      return Number(r[0]?.n ?? 0);
    },

    // sweeps page through spaces by index (`spaces(phase, started_at)`), never every row
    async listRunning(after, limit) {
      const q = db('spaces').where('phase', 'running').whereNotNull('started_at');
      if (after) q.where('started_at', '>=', after.startedAt).andWhere((w) => w.where('started_at', '>', after.startedAt).orWhere('id', '>', after.id));
      const rows = await q.orderBy([{ column: 'started_at' }, { column: 'id' }]).limit(limit).select('id', 'owner_id', 'template_id', 'applied_version', 'started_at');
      return rows.map((r: Row) => ({
        id: r.id as string,
        ownerId: r.owner_id as string,
        templateId: r.template_id as string,
        version: (r.applied_version as string | null) ?? null,
        startedAt: Number(r.started_at),
      }));
    },

    async facts(ids) {
      const facts = new Map<string, SpaceFacts>();
      for (const part of chunks([...new Set(ids)])) {
        const rows = await db('spaces').whereIn('id', part).select('id', 'phase', 'deleted_at', 'nomad_job_id');
        for (const r of rows) facts.set(r.id as string, { phase: r.phase as SpacePhase, deleted: r.deleted_at != null, nomadJobId: (r.nomad_job_id as string | null) ?? null });
      }
      return facts;
    },

    async failLeftByOperation(spaceId, operationId, reason, message, now) {
      await db('spaces')
        .where({ id: spaceId, last_operation_id: operationId })
        .whereIn('phase', [...TRANSITIONAL_PHASES])
        .update({ phase: 'failed', reason, message, updated_at: now });
    },

    async listDeletedBefore(before, limit) {
      const rows = await db('spaces')
        .whereNotNull('deleted_at')
        .where('deleted_at', '<', before)
        .whereNotExists((q) => q.select(db.raw('1')).from('space_volumes').whereRaw('space_volumes.space_id = spaces.id'))
        .orderBy([{ column: 'deleted_at' }, { column: 'id' }])
        .limit(limit)
        .select('id');
      return rows.map((r: Row) => r.id as string);
    },

    async purgeDeleted(ids) {
      if (ids.length === 0) return;
      await db.transaction(async (trx) => {
        for (const part of chunks([...ids])) {
          const purged = (await trx('spaces').whereIn('id', part).whereNotNull('deleted_at').select('id')).map((r: Row) => r.id as string);
          if (purged.length === 0) continue;
          const operationIds = (await trx('operations').whereIn('space_id', purged).select('id')).map((r: Row) => r.id as string);
          for (const ops of chunks(operationIds)) await trx('operation_steps').whereIn('operation_id', ops).delete();
          await trx('space_volumes').whereIn('space_id', purged).delete();
          await trx('operations').whereIn('space_id', purged).delete();
          await trx('agent_state').whereIn('space_id', purged).delete();
          await trx('agent_tokens').whereIn('space_id', purged).delete();
          await trx('space_shares').whereIn('space_id', purged).delete();
          await trx('space_units').whereIn('space_id', purged).delete();
          await trx('space_autostart').whereIn('space_id', purged).delete();
          await trx('space_dormancy').whereIn('space_id', purged).delete();
          await trx('spaces').whereIn('id', purged).delete();
        }
      });
    },
  };
  return spaces;
}
