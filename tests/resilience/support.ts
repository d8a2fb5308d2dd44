/** Small helpers shared by the fault tests and the resilience suite. */
import { NomadClient } from '../../nomad/client';
import { newId } from '../../core/names';
import type { Operation } from '../../store/model';
import { seedJob, waitForOperation, type Harness } from '../support/harness';

export type OpType = 'start' | 'stop' | 'delete' | 'update' | 'restart';

/** The seed job under another job id (`<prefix>-<space name>`), so tests never share jobs. */
export const jobNamed = (prefix: string) => seedJob().replace('job "${{.space.name}}-${{.user.username}}"', `job "${prefix}-\${{.space.name}}"`);

/** The seed job mounting both volumes of `homeAndData`. */
export const jobWithData = (prefix: string) =>
  jobNamed(prefix).replace(
    '    task "debian" {',
    [
      '    volume "data_volume" {',
      '      type   = "csi"',
      '      source = "debian_${{.space.id}}_data"',
      '      read_only = false',
      '      attachment_mode = "file-system"',
      '      access_mode     = "single-node-writer"',
      '    }',
      '',
      '    task "debian" {',
    ].join('\n'),
  );

const vol = (suffix: string, size: string) => [
  `  - id: "debian_\${{.space.id}}_${suffix}"`,
  '    plugin_id: "hostpath"',
  `    capacity_min: ${size}`,
  '    capabilities:',
  '      - access_mode: "single-node-writer"',
  '        attachment_mode: "file-system"',
];
export const homeOnly = () => ['volumes:', ...vol('home', '1G')].join('\n');
export const homeAndData = () => ['volumes:', ...vol('home', '1G'), ...vol('data', '2G')].join('\n');

export async function createSpace(h: Pick<Harness, 'lifecycle'>, owner: { id: string; username: string }, templateId: string, name: string, templateName: string) {
  const spaceId = newId(Date.now());
  const { space } = await h.lifecycle.createSpace(
    { spaceId, name, ownerId: owner.id, templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id },
    owner.username,
    templateName,
  );
  return space;
}

export async function startOp(h: Pick<Harness, 'lifecycle'>, spaceId: string, type: OpType, owner: { id: string; username: string }, templateName: string): Promise<Operation> {
  return h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName });
}

export async function runOp(h: Harness, spaceId: string, type: OpType, owner: { id: string; username: string }, templateName: string, timeoutMs = 60_000): Promise<Operation> {
  const op = await startOp(h, spaceId, type, owner, templateName);
  return waitForOperation(h.store, op.id, timeoutMs);
}

export { until } from '../support/wait';

export interface CallLog {
  calls: { method: string; path: string; status: number | 'aborted' | 'error' }[];
  count(method: string, path: RegExp, status?: number | 'aborted' | 'error'): number;
}

/** A NomadClient with a short per-call timeout whose every call is logged (method, path, outcome). */
export function loggedNomad(addr: string, timeoutMs: number): { nomad: NomadClient; log: CallLog } {
  const log: CallLog = {
    calls: [],
    count: (method, path, status) => log.calls.filter((c) => c.method === method && path.test(c.path) && (status === undefined || c.status === status)).length,
  };
  const f: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const entry: CallLog['calls'][number] = { method: (init?.method ?? 'GET').toUpperCase(), path: url.pathname, status: 'error' };
    log.calls.push(entry);
    if (log.calls.length > 20_000) log.calls.splice(0, 10_000);
    try {
      const res = await fetch(input, init);
      entry.status = res.status;
      return res;
    } catch (e) {
      entry.status = (e as Error).name === 'AbortError' || (e as Error).name === 'TimeoutError' ? 'aborted' : 'error';
      throw e;
    }
  };
  return { nomad: new NomadClient({ addr, timeoutMs, fetch: f }), log };
}
