/**
 * Dormant spaces (core/dormancy.ts): every stopped space of a template with `deleteAfter` is
 * warned once a warning period before its deletion (`space.dormant` event, audit entry), then
 * deleted through the ordinary delete workflow (reason `dormant`), never around it. Pages through
 * the stopped spaces by the store's phase index, heartbeating the cursor so a retry resumes.
 */
import { forEachLimit } from '../../core/batches';
import { DORMANT_REASON, deleteAfterOf, dormancyStep, dormantSince, type DormancyFacts } from '../../core/dormancy';
import { ErrorType, isKnotError } from '../../core/errors';
import type { DormantSweepInput, DormantSweepResult } from '../../core/sweeps';
import type { Space, SpaceCursor } from '../../store/model';
import { heartbeat, resumedFrom } from '../context';
import type { ActivityDeps } from '../deps';

const DEFAULT_PAGE = 500;
const CONCURRENCY = 20;

/** Template names and deleteAfter per version, each loaded once per sweep. */
class DeleteAfterCache {
  private readonly latest = new Map<string, { name: string; latestVersion: string } | null>();
  private readonly versions = new Map<string, number | undefined>();

  constructor(private readonly deps: ActivityDeps) {}

  name(templateId: string): string {
    return this.latest.get(templateId)?.name ?? templateId;
  }

  private versionOf(s: Space): string | undefined {
    return s.appliedVersion ?? this.latest.get(s.templateId)?.latestVersion;
  }

  deleteAfter(s: Space): number | undefined {
    const v = this.versionOf(s);
    return v ? this.versions.get(`${s.templateId}@${v}`) : undefined;
  }

  async load(spaces: readonly Space[]): Promise<void> {
    const missing = [...new Set(spaces.map((s) => s.templateId))].filter((id) => !this.latest.has(id));
    for (const id of missing) this.latest.set(id, null);
    for (const t of await this.deps.store.templates.getByIds(missing)) this.latest.set(t.id, { name: t.name, latestVersion: t.latestVersion });
    const wanted = new Map<string, [string, string]>();
    for (const s of spaces) {
      const v = this.versionOf(s);
      if (v && !this.versions.has(`${s.templateId}@${v}`)) wanted.set(`${s.templateId}@${v}`, [s.templateId, v]);
    }
    const contents = await this.deps.store.templates.versionContents([...wanted.values()]);
    for (const key of wanted.keys()) this.versions.set(key, deleteAfterOf(contents.get(key)));
  }
}

const iso = (t: number) => new Date(t).toISOString();

export function createDormantActivities(deps: ActivityDeps) {
  const log = deps.logger;

  /** The space's dormancy facts as stored now (re-read right before a delete). */
  async function factsOf(spaces: readonly Space[], templates: DeleteAfterCache): Promise<Map<string, DormancyFacts>> {
    const [operations, dormancy] = await Promise.all([
      deps.store.operations.getMany(spaces.map((s) => s.lastOperationId).filter((id): id is string => id !== null)),
      deps.store.dormancy.getMany(spaces.map((s) => s.id)),
    ]);
    return new Map(
      spaces.map((s) => {
        const d = dormancy.get(s.id);
        const op = s.lastOperationId ? (operations.get(s.lastOperationId) ?? null) : null;
        return [s.id, { since: dormantSince(s, op), deleteAfterMs: templates.deleteAfter(s), exempt: d?.exempt ?? false, warnedAt: d?.warnedAt ?? null, warnedSince: d?.warnedSince ?? null, warnedDeletesAt: d?.warnedDeletesAt ?? null }];
      }),
    );
  }

  return {
    async dormantSpacesSweep(input: DormantSweepInput): Promise<DormantSweepResult> {
      const lifecycle = deps.lifecycle;
      if (!lifecycle) throw new Error('the dormant-spaces sweep needs a lifecycle client in the activity deps');
      const pageSize = input.pageSize ?? DEFAULT_PAGE;
      const resumed = resumedFrom<{ cursor: SpaceCursor | null; result: DormantSweepResult }>();
      let cursor = resumed?.cursor ?? null;
      const result: DormantSweepResult = resumed?.result ?? { scanned: 0, warned: 0, deleted: 0, skipped: 0, failed: 0 };
      const templates = new DeleteAfterCache(deps);

      for (;;) {
        const page = await deps.store.spaces.list({ phase: 'stopped', limit: pageSize, ...(cursor ? { after: cursor } : {}) });
        if (page.length === 0) break;
        await templates.load(page);
        const facts = await factsOf(page, templates);
        const now = deps.clock();
        const owners = new Map((await deps.store.users.getByIds([...new Set(page.map((s) => s.ownerId))])).map((u) => [u.id, u.username]));

        await forEachLimit(page, CONCURRENCY, async (s) => {
          const f = facts.get(s.id)!;
          const step = dormancyStep(f, input.warningMs, now);
          if (step.action === 'warn') {
            const message = `stopped since ${iso(f.since!)}: deleted with its volumes at ${iso(step.deletesAt)} unless it is started`;
            await deps.store.dormancy.markWarned(s.id, { at: now, since: f.since!, deletesAt: step.deletesAt }, now);
            await deps.store.events.append({ type: 'space.dormant', spaceId: s.id, operationId: null, error: { type: 'dormant', message } }, now);
            await deps.store.audit.append({ at: now, actorId: null, actor: 'system', action: 'space.dormant', resourceType: 'space', resourceId: s.id, outcome: 'ok', detail: { stoppedSince: iso(f.since!), deletesAt: iso(step.deletesAt) } });
            result.warned++;
            return;
          }
          if (step.action !== 'delete') return;
          // the page may be minutes old: a start or update since then must win
          const fresh = await deps.store.spaces.get(s.id);
          const again = fresh && fresh.deletedAt === null ? (await factsOf([fresh], templates)).get(s.id)! : null;
          if (!fresh || !again || dormancyStep(again, input.warningMs, deps.clock()).action !== 'delete') {
            result.skipped++;
            return;
          }
          try {
            const op = await lifecycle.startOperation({ spaceId: s.id, type: 'delete', requestedBy: 'system', ownerName: owners.get(s.ownerId) ?? s.ownerId, spaceName: s.name, templateName: templates.name(s.templateId), reason: DORMANT_REASON });
            result.deleted++;
            await deps.store.audit.append({ at: deps.clock(), actorId: null, actor: 'system', action: 'space.dormant_delete', resourceType: 'space', resourceId: s.id, outcome: 'ok', detail: { reason: DORMANT_REASON, stoppedSince: iso(again.since!), deletesAt: iso(step.deletesAt), operationId: op.id } });
          } catch (e) {
            if (isKnotError(e) && e.type === ErrorType.OperationInProgress) {
              result.skipped++;
              return;
            }
            result.failed++;
            log.warn({ spaceId: s.id, err: (e as Error).message }, 'dormant spaces: could not start the delete');
          }
        });

        result.scanned += page.length;
        const last = page[page.length - 1]!;
        cursor = { createdAt: last.createdAt, id: last.id };
        heartbeat({ cursor, result });
        if (page.length < pageSize) break;
      }
      if (result.warned + result.deleted + result.failed > 0) log.info(result, 'dormant spaces sweep');
      return result;
    },
  };
}
