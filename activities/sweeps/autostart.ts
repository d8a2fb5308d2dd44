/**
 * Auto-start: every space whose autostart is due (`nextAt <= now`, an indexed read) is started
 * through the ordinary start workflow with the same quota guard as a user's start, operation
 * reason `autostart`. The due time is claimed first (compare-and-set to the next due time), so it
 * is acted on once whatever happens next: a space that cannot start (quota, template gone or
 * forbidding autostart, outside the schedule, already running) gets a `space.autostart_skipped`
 * event and an audit entry with the reason, and is tried again at its next due time only.
 */
import { AutoReason, nextAutostartAt, templateAllowsAutostart } from '../../core/autostart';
import { forEachLimit } from '../../core/batches';
import { ErrorType, isKnotError } from '../../core/errors';
import { autoStopFields, type AutostartSweepInput, type AutostartSweepResult } from '../../core/sweeps';
import { isWithinSchedule } from '../../core/template';
import { resolveTemplateRef } from '../../core/versions';
import type { Space } from '../../store/model';
import { startGuard, unitsOfSpaceIn } from '../../store/quota-guard';
import type { SpaceAutostart } from '../../store/store';
import { heartbeat } from '../context';
import type { ActivityDeps } from '../deps';

const DEFAULT_PAGE = 200;
const DEFAULT_CONCURRENCY = 50;
/** A due time missed by longer than this (the worker was down) is skipped, not acted on hours late. */
const LATE_LIMIT_MS = 60 * 60_000;

type Outcome = { started: true; operationId: string } | { started: false; why: string; failed?: boolean };

export function createAutostartActivities(deps: ActivityDeps) {
  const log = deps.logger;

  /** Why this space must not be started now, or null. */
  async function refusal(space: Space | null, due: SpaceAutostart, now: number, ownerTz: string): Promise<{ why: string } | { start: () => Promise<Outcome> }> {
    if (!space || space.deletedAt !== null) return { why: 'the space is gone' };
    if (now - (due.nextAt ?? now) > LATE_LIMIT_MS) return { why: `missed its due time ${new Date(due.nextAt!).toISOString()} (the sweep did not run)` };
    if (space.phase !== 'stopped' && space.phase !== 'failed') return { why: `the space is already ${space.phase}` };
    const template = await deps.store.templates.get(space.templateId);
    if (!template || template.deletedAt !== null) return { why: 'its template is gone' };
    const versions = (await deps.store.templates.listVersions(template.id)).map((v) => v.version);
    const version = resolveTemplateRef(versions, space.templateRef);
    const content = version ? ((await deps.store.templates.getVersion(template.id, version))?.content ?? null) : null;
    if (!content) return { why: `no version of template '${template.name}' matches '${space.templateRef || 'latest'}'` };
    if (!templateAllowsAutostart(content)) return { why: `template '${template.name}' does not allow autostart` };
    const schedule = autoStopFields(content).schedule;
    if (schedule && !isWithinSchedule(schedule, new Date(now), ownerTz)) return { why: `outside the schedule of template '${template.name}' (${ownerTz})` };
    return {
      start: async () => {
        const units = await unitsOfSpaceIn(deps.store, deps.settings, space, template, content);
        const owner = await deps.store.users.get(space.ownerId);
        const op = await deps.lifecycle!.startOperation(
          { spaceId: space.id, type: 'start', requestedBy: 'system', ownerName: owner?.username ?? space.ownerId, spaceName: space.name, templateName: template.name, reason: AutoReason.Autostart },
          startGuard(space, units, true, now),
        );
        return { started: true, operationId: op.id };
      },
    };
  }

  async function handle(due: SpaceAutostart, result: AutostartSweepResult): Promise<void> {
    const now = deps.clock();
    const space = await deps.store.spaces.get(due.spaceId);
    const owner = space ? await deps.store.users.get(space.ownerId) : null;
    const ownerTz = owner?.timezone || 'UTC';
    const tz = due.autostart.timezone ?? ownerTz;
    let next: number | null;
    try {
      next = nextAutostartAt(due.autostart, now, tz);
    } catch {
      next = nextAutostartAt(due.autostart, now, 'UTC');
    }
    if (!space || space.deletedAt !== null) {
      await deps.store.autostarts.set(due.spaceId, null, null, now);
      return;
    }
    // claim this due time: of two sweeps (or a retried attempt), one acts on it
    if (!(await deps.store.autostarts.advance(due.spaceId, due.nextAt!, next, now))) return;
    result.due++;

    let outcome: Outcome;
    const check = await refusal(space, due, now, ownerTz);
    if ('why' in check) outcome = { started: false, why: check.why };
    else {
      try {
        outcome = await check.start();
      } catch (e) {
        const known = isKnotError(e) && (e.type === ErrorType.QuotaExceeded || e.type === ErrorType.OperationInProgress);
        outcome = { started: false, why: (e as Error).message, failed: !known };
        if (!known) log.warn({ spaceId: space.id, err: (e as Error).message }, 'autostart: could not start the space');
      }
    }

    const detail = { reason: AutoReason.Autostart, dueAt: new Date(due.nextAt!).toISOString(), nextAt: next === null ? null : new Date(next).toISOString() };
    if (outcome.started) {
      result.started++;
      await deps.store.audit.append({ at: now, actorId: null, actor: 'system', action: 'space.autostart', resourceType: 'space', resourceId: space.id, outcome: 'ok', detail: { ...detail, operationId: outcome.operationId } });
      return;
    }
    if (outcome.failed) result.failed++;
    else result.skipped++;
    await deps.store.events.append({ type: 'space.autostart_skipped', spaceId: space.id, operationId: null, error: { type: 'autostart_skipped', message: outcome.why } }, now);
    await deps.store.audit.append({ at: now, actorId: null, actor: 'system', action: 'space.autostart', resourceType: 'space', resourceId: space.id, outcome: 'refused', detail: { ...detail, skipped: outcome.why } });
  }

  return {
    async autostartSweep(input: AutostartSweepInput = {}): Promise<AutostartSweepResult> {
      if (!deps.lifecycle) throw new Error('the autostart sweep needs a lifecycle client in the activity deps');
      const pageSize = input.pageSize ?? DEFAULT_PAGE;
      const result: AutostartSweepResult = { due: 0, started: 0, skipped: 0, failed: 0 };
      // each handled row moves past `now`, so the next page is whatever is still due
      for (;;) {
        const page = await deps.store.autostarts.listDue(deps.clock(), pageSize);
        // owners at once, within a limit (one by one, 1,000 due spaces took 150 s to start: bench
        // sweeps-autostart); one owner's spaces in order, so who gets their last quota units is
        // decided by the due order, not by a race
        const owners = new Map<string, SpaceAutostart[]>();
        for (const due of page) {
          const ownerId = (await deps.store.spaces.get(due.spaceId))?.ownerId ?? `gone:${due.spaceId}`;
          owners.set(ownerId, [...(owners.get(ownerId) ?? []), due]);
        }
        await forEachLimit([...owners.values()], input.concurrency ?? DEFAULT_CONCURRENCY, async (dues) => {
          for (const due of dues) await handle(due, result);
        });
        heartbeat(result);
        if (page.length < pageSize) break;
      }
      if (result.due > 0) log.info(result, 'autostart sweep');
      return result;
    },
  };
}
