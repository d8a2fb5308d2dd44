/**
 * Spaces: `space:<id>` (the record as returned), unique `name:space:<ownerId>:<name>` while the
 * space lives, and ordered indexes derived from the record (see `entriesOf`): live spaces by
 * (createdAt, id) overall, per owner, per template and per phase, and by name; running spaces by
 * (startedAt, id); deleted spaces by (deletedAt, id); and per owner the set of every space id,
 * deleted included.
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
import { dropSharesOfSpace } from './space-shares';
import { dropVolumesOfSpace } from './volumes';

/** Members read per round trip when a page may hold documents the filters drop. */
const SCAN_PAGE = 100;
/**
 * How the name filter reads (see `list`). A prefix is answered from the name index, its matches
 * sorted into list order here, when it matches at most `gatherMax` live spaces (and no more than
 * the smallest other index the filter names). A more common prefix walks the list order first,
 * `walkPage` documents a round trip: 10,000 members sort in a few ms, but 90,000 took 0.3 s at
 * 100,000 spaces, where a walk finds a dense prefix's page at once — unless its matches cluster far
 * from the cursor: after `walkBudget` documents it gathers every match after all.
 */
export interface NameFilterLimits {
  gatherMax: number;
  walkBudget: number;
  walkPage: number;
}

export const NAME_FILTER_LIMITS: NameFilterLimits = { gatherMax: 10_000, walkBudget: 2_000, walkPage: 500 };
/** Name index members read per round trip (short strings: no documents are read for them). */
const NAME_PAGE = 10_000;

/** The space's member of the name index: the name, then its list-order member (names hold no space). */
export function spaceNameMember(s: Pick<Space, 'name' | 'createdAt' | 'id'>): string {
  return `${s.name} ${orderedMember(s.createdAt, s.id)}`;
}

const orderOfNameMember = (m: string) => m.slice(m.indexOf(' ') + 1);

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
      { kind: 'zset', key: keys.spacesByName, member: spaceNameMember(s) },
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

export function redisSpaces(kv: Kv, keys: Keys, limits: NameFilterLimits = NAME_FILTER_LIMITS): SpaceRepository {
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

  /**
   * The name index's members for names starting with `prefix`, or null when there are more than
   * `max`. Members only: sorting even 100,000 of them into list order costs less than reading the
   * documents a walk of the list order would skip when the matching names cluster in time.
   */
  async function namesStarting(prefix: string, max: number): Promise<string[] | null> {
    const out: string[] = [];
    // every member starting with the prefix sorts below prefix + U+00FF (names are ASCII)
    let min = `[${prefix}`;
    for (;;) {
      const count = Math.min(NAME_PAGE, max - out.length + 1);
      const members = await kv.read.zrangeByLex(keys.spacesByName, { min, max: `(${prefix}\u00ff`, offset: 0, count });
      out.push(...members);
      if (out.length > max) return null;
      if (members.length < count) return out;
      min = lexExclusive(members[members.length - 1] as string);
    }
  }

  /**
   * Where to read a filter's page from: the name matches when they are the fewest, else the
   * smallest ordered index the filter names (all live spaces when it names none); `exact` when
   * every live member of that index matches.
   */
  async function sourceFor(f: SpaceFilter): Promise<{ names: string[] } | { index: string; exact: boolean }> {
    // truthy checks, as SQL's `if (f.ownerId)`: an empty string filters nothing
    const candidates = [f.ownerId ? keys.spacesOfOwner(f.ownerId) : null, f.templateId ? keys.spacesOfTemplate(f.templateId) : null, f.phase ? keys.spacesInPhase(f.phase) : null].filter(
      (k): k is string => k !== null,
    );
    const sizes = candidates.length > (f.namePrefix ? 0 : 1) ? await Promise.all(candidates.map((k) => kv.read.zcard(k))) : [];
    // the name matches when there are no more of them than of the smallest other index: each of
    // their documents read is then one a walk of that index could have had to read too
    const names = f.namePrefix ? await namesStarting(f.namePrefix, Math.min(limits.gatherMax, ...sizes)) : null;
    if (names) return { names };
    const filters = candidates.length + (f.namePrefix ? 1 : 0);
    const smallest = sizes.length > 0 ? sizes.indexOf(Math.min(...sizes)) : 0;
    return { index: candidates[smallest] ?? keys.liveSpaces, exact: filters <= 1 && !f.namePrefix };
  }

  const matches = (s: Space, f: SpaceFilter) =>
    s.deletedAt === null &&
    (!f.ownerId || s.ownerId === f.ownerId) &&
    (!f.templateId || s.templateId === f.templateId) &&
    (!f.phase || s.phase === f.phase) &&
    (!f.namePrefix || s.name.startsWith(f.namePrefix));

  /**
   * A page walked from an ordered index in list order from the cursor, `pageSize` members a round
   * trip; null when `budget` members were read before the page was full.
   */
  async function walk(index: string, pageSize: number, f: SpaceFilter, budget: number): Promise<Space[] | null> {
    const cursor = f.after ? lexExclusive(orderedMember(f.after.createdAt, f.after.id)) : null;
    let [min, max] = f.newestFirst ? [LEX_MIN, cursor ?? LEX_MAX] : [cursor ?? LEX_MIN, LEX_MAX];
    const out: Space[] = [];
    for (let read = 0; ; ) {
      if (read >= budget) return null;
      const members = await kv.read.zrangeByLex(index, { min, max, reverse: f.newestFirst, offset: 0, count: pageSize });
      read += members.length;
      for (const s of await atPlace(index, members)) {
        if (s && matches(s, f)) out.push(s);
        if (out.length >= f.limit) return out;
      }
      const last = members[members.length - 1];
      if (last === undefined || members.length < pageSize) return out;
      if (f.newestFirst) max = lexExclusive(last);
      else min = lexExclusive(last);
    }
  }

  /** A page from the name matches: put into list order here, then read until `limit` match. */
  async function listNamed(names: readonly string[], f: SpaceFilter): Promise<Space[]> {
    const cursor = f.after ? orderedMember(f.after.createdAt, f.after.id) : null;
    const ordered = names
      .map((m) => ({ name: m, order: orderOfNameMember(m) }))
      .filter((e) => cursor === null || (f.newestFirst ? e.order < cursor : e.order > cursor))
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    if (f.newestFirst) ordered.reverse();
    const out: Space[] = [];
    for (let from = 0; from < ordered.length && out.length < f.limit; from += SCAN_PAGE) {
      const part = ordered.slice(from, from + SCAN_PAGE);
      const docs = await readDocs<Space>(kv.read, part.map((e) => keys.space(idOfMember(e.order))));
      for (const [i, s] of docs.entries()) {
        // still under this name member: the document, not the index read a moment ago, decides
        if (s && holds(entriesOf(s), keys.spacesByName, part[i]?.name ?? '') && matches(s, f) && out.length < f.limit) out.push(s);
      }
    }
    return out;
  }

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
      if (f.limit <= 0) return [];
      const source = await sourceFor(f);
      if ('names' in source) return listNamed(source.names, f);
      if (!f.namePrefix) return (await walk(source.index, source.exact ? Math.max(1, f.limit) : Math.max(f.limit, SCAN_PAGE), f, Infinity)) ?? [];
      // a common prefix: matches are dense enough to meet soon in list order, unless they cluster
      // far from the cursor; then every match, sorted, is the cheaper way to the page
      const walked = await walk(source.index, Math.max(f.limit, limits.walkPage), f, limits.walkBudget);
      return walked ?? listNamed((await namesStarting(f.namePrefix, Infinity)) ?? [], f);
    },

    update: (id: string, patch: SpacePatch, now: number) => change(id, (s) => patched(s, patch, now)),

    transfer: (id: string, newOwnerId: string, now: number) =>
      kv.write(async (tx) => {
        const before = await readDoc<Space>(tx, keys.space(id));
        if (!before || before.deletedAt !== null) throw notFound('space', id);
        if (before.ownerId === newOwnerId) return;
        if ((await tx.get(keys.spaceByName(newOwnerId, before.name))) !== null) throw alreadyInUse(`the new owner already has a space named '${before.name}'`, 'to');
        put(tx, before, { ...before, ownerId: newOwnerId, updatedAt: now });
      }),

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
          await dropSharesOfSpace(tx, keys, id);
          tx.del(`${keys.prefix}space-units:${id}`); // store/redis/quotas.ts
          tx.del(`${keys.prefix}autostart:${id}`); // store/redis/autostarts.ts (its due-index member is dropped when read)
          tx.del(`${keys.prefix}dormancy:${id}`); // store/redis/dormancy.ts
          tx.del(keys.space(id));
          reindex(tx, entriesOf(s), []);
        }
      }),
  };
}
