/**
 * Auto-stop: every running space is evaluated against its template's rules (max uptime,
 * schedule, idle) and a stop is started for each one due. Pages through `spaces(phase,
 * started_at)`, heartbeating the cursor so a retry resumes where the last attempt stopped.
 */
import { autoStopDecision, type AutoStopTemplate } from '../../core/auto-stop';
import { forEachLimit } from '../../core/batches';
import { ErrorType, isKnotError } from '../../core/errors';
import { autoStopFields, type AutoStopSweepInput, type AutoStopSweepResult } from '../../core/sweeps';
import type { AgentStateStore, Store } from '../../store/store';
import { heartbeat, resumedFrom } from '../context';
import type { ActivityDeps } from '../deps';

const DEFAULT_PAGE = 500;
const DEFAULT_CONCURRENCY = 50;

interface TemplateInfo {
  name: string;
  latestVersion: string;
}

/** Template names and version rules, each loaded once per sweep. */
class TemplateCache {
  private readonly templates = new Map<string, TemplateInfo | null>();
  private readonly versions = new Map<string, AutoStopTemplate>();

  constructor(private readonly store: Store) {}

  template(id: string): TemplateInfo | null {
    return this.templates.get(id) ?? null;
  }

  rules(templateId: string, version: string | null): AutoStopTemplate {
    const v = version ?? this.template(templateId)?.latestVersion;
    return (v && this.versions.get(`${templateId}@${v}`)) || {};
  }

  async load(spaces: readonly { templateId: string; version: string | null }[]): Promise<void> {
    const missing = [...new Set(spaces.map((s) => s.templateId))].filter((id) => !this.templates.has(id));
    for (const id of missing) this.templates.set(id, null);
    for (const t of await this.store.templates.getByIds(missing)) this.templates.set(t.id, { name: t.name, latestVersion: t.latestVersion });
    const wanted = new Map<string, [string, string]>();
    for (const s of spaces) {
      const v = s.version ?? this.template(s.templateId)?.latestVersion;
      if (v && !this.versions.has(`${s.templateId}@${v}`)) wanted.set(`${s.templateId}@${v}`, [s.templateId, v]);
    }
    const contents = await this.store.templates.versionContents([...wanted.values()]);
    for (const key of wanted.keys()) {
      const content = contents.get(key);
      this.versions.set(key, content ? autoStopFields(content) : {});
    }
  }
}

export function createAutoStopActivities(deps: ActivityDeps) {
  const agentState: AgentStateStore = deps.agentState ?? deps.store.agentState(0, deps.clock);
  const log = deps.logger;

  return {
    async autoStopSweep(input: AutoStopSweepInput = {}): Promise<AutoStopSweepResult> {
      const lifecycle = deps.lifecycle;
      if (!lifecycle) throw new Error('the auto-stop sweep needs a lifecycle client in the activity deps');
      const pageSize = input.pageSize ?? DEFAULT_PAGE;
      const concurrency = input.concurrency ?? DEFAULT_CONCURRENCY;
      const resumed = resumedFrom<{ cursor: { startedAt: number; id: string } | null; result: AutoStopSweepResult }>();
      let cursor = resumed?.cursor ?? null;
      const result: AutoStopSweepResult = resumed?.result ?? { scanned: 0, stopped: 0, skipped: 0, failed: 0 };
      const templates = new TemplateCache(deps.store);

      for (;;) {
        const page = await deps.store.spaces.listRunning(cursor, pageSize);
        if (page.length === 0) break;

        await templates.load(page);
        const owners = new Map((await deps.store.users.getByIds([...new Set(page.map((s) => s.ownerId))])).map((u) => [u.id, { username: u.username, timezone: u.timezone || 'UTC' }]));
        const agents = await agentState.getMany(page.map((s) => s.id));

        const now = deps.clock();
        const due: { spaceId: string; reason: string; message: string; ownerName: string; templateName: string }[] = [];
        for (const s of page) {
          const owner = owners.get(s.ownerId);
          const agent = agents.get(s.id);
          const decision = autoStopDecision({
            startedAt: s.startedAt,
            timezone: owner?.timezone ?? 'UTC',
            template: templates.rules(s.templateId, s.version),
            agent: agent ? { lastActivity: agent.lastActivity } : null,
            globalIdleTimeoutMs: input.idleTimeoutMs ?? 0,
            now,
          });
          if (decision.stop) due.push({ spaceId: s.id, reason: decision.code, message: decision.reason, ownerName: owner?.username ?? s.ownerId, templateName: templates.template(s.templateId)?.name ?? s.templateId });
        }

        await forEachLimit(due, concurrency, async (d) => {
          try {
            const op = await lifecycle.startOperation({ spaceId: d.spaceId, type: 'stop', requestedBy: 'system', ownerName: d.ownerName, templateName: d.templateName, reason: d.reason });
            result.stopped++;
            await deps.store.audit.append({
              at: deps.clock(),
              actorId: null,
              actor: 'system',
              action: 'space.auto_stop',
              resourceType: 'space',
              resourceId: d.spaceId,
              outcome: 'ok',
              detail: { reason: d.reason, message: d.message, operationId: op.id },
            });
          } catch (e) {
            if (isKnotError(e) && e.type === ErrorType.OperationInProgress) {
              result.skipped++;
              return;
            }
            result.failed++;
            log.warn({ spaceId: d.spaceId, err: (e as Error).message }, 'auto-stop: could not start the stop');
          }
        });

        result.scanned += page.length;
        const last = page[page.length - 1]!;
        cursor = { startedAt: last.startedAt, id: last.id };
        heartbeat({ cursor, result });
        if (page.length < pageSize) break;
      }
      if (result.stopped + result.skipped + result.failed > 0) log.info(result, 'auto-stop sweep');
      return result;
    },
  };
}
