/**
 * Spaces: `space:<id>` (the record as returned), unique `name:space:<ownerId>:<name>` while the
 * space lives, and ordered indexes derived from the record (see `entriesOf`): live spaces by
 * (createdAt, id) overall, per owner, per template and per phase; running spaces by (startedAt, id);
 * deleted spaces by (deletedAt, id); and per owner the set of every space id, deleted included.
 */
import { dropAgentTokensOfSpace } from './agent-tokens';
import { alreadyInUse, KnotError, notFound } from '../../core/errors';
import { TRANSITIONAL_PHASES } from '../../core/lifecycle';
import { newSpaceRecord, type NewSpace, type RunningSpace, type Space, type SpaceFacts, type SpaceFilter, type SpacePatch } from '../model';
import type { SpaceRepository } from '../store';
import { holds, reindex, scanIndex, type IndexEntry } from './indexes';
import { type Keys, LEX_MIN, LEX_MAX, lexBelowNumber, lexExclusive, orderedMember, idOfMember } from './keys';
import { readDoc, readDocs, writeDoc, type Kv, type KvTx } from './kv';
import { dropOperationsOfSpace } from './operations';
import { dropVolumesOfSpace } from './volumes';

/** Members read per round trip when a page may hold documents the filters drop. */
const SCAN_PAGE = 100;

export function spaceEntries(keys: Keys, s: Space): IndexEntry[] {
  const created = orderedMember(s.createdAt, s.id);
  const entries: IndexEntry[] = [{ kind: 'set', key: keys.everySpaceOfOwner(s.ownerId), member: s.id }];
  if (s.deletedAt === null) {
    entries.push(
      { kind: 'unique', key: keys.spaceByName(s.ownerId, s.name), id: s.id },
      { kind: 'zset', key: keys.liveSpaces, member: created },
      { kind: 'zset', key: keys.spacesOfOwner(s.ownerId), member: created },
      { kind: 'zset', key: keys.spacesOfTemplate(s.templateId), member: created },
      { kind: 'zset', key: keys.spacesInPhase(s.phase), member: created },
    );
  } else {
    entries.push({ kind: 'zset', key: keys.deletedSpaces, member: orderedMember(s.deletedAt, s.id) });
  }
  // as SQL's `phase = 'running' AND started_at IS NOT NULL`, whatever else the record says
  if (s.phase === 'running' && s.startedAt !== null) entries.push({ kind: 'zset', key: keys.runningSpaces, member: orderedMember(s.startedAt, s.id) });
  return entries;
}

function nameTaken(name: string): KnotError {
  return alreadyInUse(`a space named '${name}' already exists`, 'name');
}

/** What `update` may change (a caller's wider object changes nothing else, as SQL's column list). */
const PATCHABLE = [
  'templateRef',
  'templateId',
  'parameters',
  'shell',
  'agentUrl',
  'phase',
  'reason',
  'message',
  'appliedVersion',
  'appliedHash',
  'nomadJobId',
  'lastOperationId',
  'startedAt',
] as const satisfies readonly (keyof SpacePatch)[];

function patched(s: Space, patch: SpacePatch, now: number): Space {
  const out: Record<string, unknown> = { ...s, updatedAt: now };
  for (const field of PATCHABLE) if (patch[field] !== undefined) out[field] = patch[field];
  return out as unknown as Space;
}

export function redisSpaces(kv: Kv, keys: Keys): SpaceRepository {
  const entriesOf = (s: Space) => spaceEntries(keys, s);

  /** writes the new record and moves its index entries */
  function put(tx: KvTx, before: Space | null, after: Space): void {
    writeDoc(tx, keys.space(after.id), after);
    reindex(tx, before ? entriesOf(before) : [], entriesOf(after));
  }

  /** read-modify-write of one space; `edit` answers null to leave it */
  function change(id: string, edit: (s: Space) => Space | null): Promise<void> {
    return kv.write(async (tx) => {
      const before = await readDoc<Space>(tx, keys.space(id));
      const after = before && edit(before);
      if (before && after) put(tx, before, after);
    });
  }

  async function get(id: string): Promise<Space | null> {
    return readDoc<Space>(kv.read, keys.space(id));
  }

  /** Documents of a page of an index that are still at their place in it. */
  async function atPlace(index: string, members: readonly string[]): Promise<(Space | null)[]> {
    const docs = await readDocs<Space>(kv.read, members.map((m) => keys.space(idOfMember(m))));
    return docs.map((s, i) => (s && holds(entriesOf(s), index, members[i] ?? '') ? s : null));
  }

  /** The index to walk for a filter: the smallest of those the filter names, else all live spaces. */
  async function indexFor(f: SpaceFilter): Promise<{ index: string; exact: boolean }> {
    // truthy checks, as SQL's `if (f.ownerId)`: an empty string filters nothing
    const candidates = [f.ownerId ? keys.spacesOfOwner(f.ownerId) : null, f.templateId ? keys.spacesOfTemplate(f.templateId) : null, f.phase ? keys.spacesInPhase(f.phase) : null].filter(
      (k): k is string => k !== null,
    );
    if (candidates.length === 0) return { index: keys.liveSpaces, exact: true };
    if (candidates.length === 1) return { index: candidates[0] as string, exact: true };
    const sizes = await Promise.all(candidates.map((k) => kv.read.zcard(k)));
    const smallest = sizes.indexOf(Math.min(...sizes));
    return { index: candidates[smallest] as string, exact: false };
  }

  const matches = (s: Space, f: SpaceFilter) =>
    s.deletedAt === null && (!f.ownerId || s.ownerId === f.ownerId) && (!f.templateId || s.templateId === f.templateId) && (!f.phase || s.phase === f.phase);

  return {
    insert: (s: NewSpace, now: number) =>
      kv.write(async (tx) => {
        // idempotent on id: a retried activity finds its own space, whatever its name says now
        const existing = await readDoc<Space>(tx, keys.space(s.id));
        if (existing) return existing;
        if ((await tx.get(keys.spaceByName(s.ownerId, s.name))) !== null) throw nameTaken(s.name);
        // only the fields a new space is made of (a caller's wider object adds nothing)
        const space = newSpaceRecord({ id: s.id, name: s.name, ownerId: s.ownerId, templateId: s.templateId, templateRef: s.templateRef, parameters: s.parameters, shell: s.shell, agentUrl: s.agentUrl }, now);
        put(tx, null, space);
        return space;
      }),

    get,

    require: async (id) => {
      const s = await get(id);
      if (!s || s.deletedAt) throw notFound('space', id);
      return s;
    },

    getByName: async (ownerId, name) => {
      const id = await kv.read.get(keys.spaceByName(ownerId, name));
      const s = id === null ? null : await get(id);
      return s && s.deletedAt === null && s.ownerId === ownerId && s.name === name ? s : null;
    },

    list: async (f) => {
      const { index, exact } = await indexFor(f);
      const min = f.after ? lexExclusive(orderedMember(f.after.createdAt, f.after.id)) : LEX_MIN;
      const pageSize = exact ? Math.max(1, f.limit) : Math.max(f.limit, SCAN_PAGE);
      return scanIndex(kv.read, index, { min, max: LEX_MAX, limit: f.limit, pageSize }, async (members) =>
        (await atPlace(index, members)).map((s) => (s && matches(s, f) ? s : null)),
      );
    },

    update: (id: string, patch: SpacePatch, now: number) => change(id, (s) => patched(s, patch, now)),

    markDeleted: (id: string, now: number) =>
      change(id, (s) => ({ ...s, phase: 'deleted', deletedAt: now, updatedAt: now, nomadJobId: null, reason: '', message: '' })),

    countUsingTemplate: (templateId) => kv.read.zcard(keys.spacesOfTemplate(templateId)),

    countOwnedBy: (userId, includeDeleted) => (includeDeleted ? kv.read.scard(keys.everySpaceOfOwner(userId)) : kv.read.zcard(keys.spacesOfOwner(userId))),

    listRunning: async (after, limit) => {
      const min = after ? lexExclusive(orderedMember(after.startedAt, after.id)) : LEX_MIN;
      return scanIndex(kv.read, keys.runningSpaces, { min, max: LEX_MAX, limit, pageSize: Math.max(1, limit) }, async (members) =>
        (await atPlace(keys.runningSpaces, members)).map(
          (s): RunningSpace | null => s && { id: s.id, ownerId: s.ownerId, templateId: s.templateId, version: s.appliedVersion, startedAt: s.startedAt as number },
        ),
      );
    },

    facts: async (ids) => {
      const out = new Map<string, SpaceFacts>();
      for (const s of await readDocs<Space>(kv.read, [...new Set(ids)].map(keys.space))) {
        if (s) out.set(s.id, { phase: s.phase, deleted: s.deletedAt !== null, nomadJobId: s.nomadJobId });
      }
      return out;
    },

    failLeftByOperation: (spaceId, operationId, reason, message, now) =>
      change(spaceId, (s) => (s.lastOperationId === operationId && TRANSITIONAL_PHASES.includes(s.phase) ? { ...s, phase: 'failed', reason, message, updatedAt: now } : null)),

    listDeletedBefore: async (before, limit) =>
      scanIndex(kv.read, keys.deletedSpaces, { min: LEX_MIN, max: lexBelowNumber(before), limit, pageSize: Math.max(limit, SCAN_PAGE) }, async (members) => {
        const spaces = await atPlace(keys.deletedSpaces, members);
        // a space keeps (and is kept by) its volume records until the cleanup sweep saw them gone
        const volumeCounts = await Promise.all(spaces.map((s) => (s ? kv.read.hlen(keys.volumesOfSpace(s.id)) : Promise.resolve(1))));
        return spaces.map((s, i) => (s && volumeCounts[i] === 0 ? s.id : null));
      }),

    purgeDeleted: (ids) =>
      kv.write(async (tx) => {
        for (const id of new Set(ids)) {
          const s = await readDoc<Space>(tx, keys.space(id));
          // only deleted spaces: a live one keeps its records (SQL would drop them and keep the space)
          if (!s || s.deletedAt === null) continue;
          await dropVolumesOfSpace(tx, keys, id);
          await dropOperationsOfSpace(tx, keys, id);
          tx.del(keys.agent(id));
          await dropAgentTokensOfSpace(tx, keys, id);
          tx.del(keys.space(id));
          reindex(tx, entriesOf(s), []);
        }
      }),
  };
}
