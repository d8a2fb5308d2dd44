/**
 * The direct baseline: what a knot-style server does without Temporal, calling the same Nomad
 * endpoints in the same order as knot's start and stop workflows (see activities/nomad-*.ts):
 *
 * start: render → parse job → read volume → create volume (+ read back) → read job → register job
 *        → poll { read job, allocations + evaluations } every `pollIntervalMs` until healthy
 * stop:  read job → allocations → deregister (purge) → poll each allocation until terminal
 *
 * No store writes, no workflow, no activity scheduling: the difference to knot is the
 * orchestration (Temporal round trips + bookkeeping).
 */
import { renderTemplate, type RenderContext } from '../core/render';
import { parseVolumeDefinitions } from '../core/volumes';
import { allAllocationsTerminal, spaceAllocationStatus } from '../nomad/health';
import type { NomadClient } from '../nomad/client';
import type { Job } from '../nomad/types';
import { KNOT_SPACE_META, KNOT_VERSION_META } from '../nomad/meta';
import { sleep } from './concurrency';

export interface DirectSpace {
  id: string;
  name: string;
  username: string;
  templateName: string;
  job: string;
  volumes: string;
}

export interface DirectOptions {
  pollIntervalMs: number;
  namespace: string;
  timeoutMs?: number;
}

function contextFor(space: DirectSpace): RenderContext {
  return {
    space: { id: space.id, name: space.name },
    user: { id: `u-${space.username}`, username: space.username, email: `${space.username}@example.com`, timezone: 'UTC' },
    server: { url: 'http://127.0.0.1:3000', wildcard_domain: '*.knot.bench', agent_endpoint: '127.0.0.1:3010' },
    template: { id: `t-${space.templateName}`, name: space.templateName },
    nomad: { dc: 'dc1', region: 'global' },
    var: {},
    param: {},
  };
}

/** Starts the space's job directly; resolves when an allocation is running and healthy. */
export async function directStart(nomad: NomadClient, space: DirectSpace, opts: DirectOptions): Promise<{ jobId: string }> {
  const ctx = contextFor(space);
  const hcl = renderTemplate(space.job, ctx, { escape: 'hcl', path: 'job' });
  const volumes = parseVolumeDefinitions(renderTemplate(space.volumes, ctx, { escape: 'yaml', path: 'volumes' }));
  const job: Job = await nomad.parseJob(hcl);
  const jobId = job.ID ?? job.Name;
  if (!jobId) throw new Error('rendered job has no id');
  job.ID = jobId;
  job.Meta = { ...(job.Meta ?? {}), [KNOT_SPACE_META]: space.id, [KNOT_VERSION_META]: '1.0.0' };
  job.Namespace ??= opts.namespace;

  for (const v of volumes) {
    const exists = await nomad.readCsiVolume(v.id);
    if (!exists) await nomad.createCsiVolume(v);
  }
  await nomad.readJob(jobId);
  await nomad.registerJob(job);

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const current = await nomad.readJob(jobId);
    if (!current) throw new Error(`job ${jobId} disappeared`);
    const [allocs, evals] = await Promise.all([nomad.jobAllocations(jobId), nomad.jobEvaluations(jobId)]);
    const status = spaceAllocationStatus(current, allocs, evals);
    if (status.state === 'up') return { jobId };
    if (status.state === 'failed' || status.state === 'placement_failed') throw new Error(`start failed: ${status.reason}`);
    if (Date.now() > deadline) throw new Error(`start timed out: ${status.reason}`);
    await sleep(opts.pollIntervalMs);
  }
}

/** Purges the job directly; resolves when its allocations are terminal (volumes stay). */
export async function directStop(nomad: NomadClient, jobId: string, opts: DirectOptions): Promise<void> {
  await nomad.readJob(jobId);
  const allocs = await nomad.jobAllocations(jobId);
  await nomad.deregisterJob(jobId, { purge: true });
  let pending = allocs.filter((a) => !allAllocationsTerminal([a])).map((a) => a.ID);
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (pending.length > 0) {
    const still: string[] = [];
    for (const id of pending) {
      const alloc = await nomad.readAllocation(id);
      if (alloc && !allAllocationsTerminal([alloc])) still.push(id);
    }
    pending = still;
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`allocations still running: ${pending.join(', ')}`);
    await sleep(opts.pollIntervalMs);
  }
}
