/**
 * Agent tokens through the real lifecycle (Temporal dev server, Nomad sandbox over HTTP): a start
 * mints a token into the job it registers (seed 000's env, and `${{ .space.agent_token }}`), the
 * token never enters the workflow's history, a stop revokes it, the next start mints another, and a
 * delete revokes every token of the space.
 */
import { generateAgentToken, hashToken } from '../../core/crypto';
import { newId } from '../../core/names';
import type { Job } from '../../nomad/types';
import type { Operation } from '../../store/model';
import { seedJob, seedTemplate, seedUser, seedVolumes, startHarness, waitForOperation, type Harness } from '../support/harness';

/** Seed 000's job, with the template variable used as well (where a template wants it by another name). */
const jobWithTokenVariable = () => seedJob().replace('KNOT_SPACEID = "${{ .space.id }}"', 'KNOT_SPACEID = "${{ .space.id }}"\n        EXTRA_AGENT_TOKEN = "${{ .space.agent_token }}"');

describe('agent tokens in the lifecycle', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(async () => {
    await h.close();
  });

  async function run(spaceId: string, type: 'start' | 'stop' | 'delete', owner: string): Promise<Operation> {
    const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner, ownerName: owner, templateName: 'agenttok' });
    return waitForOperation(h.store, op.id);
  }

  /** The env of the tasks that run an agent, as Nomad (the sandbox, over HTTP) has the job. */
  async function agentEnvs(jobId: string): Promise<Record<string, string>[]> {
    const res = await fetch(`${h.sandbox.url}/v1/job/${encodeURIComponent(jobId)}`);
    expect(res.status).toBe(200);
    const job = (await res.json()) as Job;
    return (job.TaskGroups ?? []).flatMap((g) => g.Tasks.map((t) => t.Env ?? {})).filter((env) => 'KNOT_SPACEID' in env);
  }

  /** Every event of the operation's run, payloads decoded to text. */
  async function historyText(op: Operation): Promise<string> {
    const handle = h.client.workflow.getHandle(op.workflowId, op.runId ?? undefined);
    // the run records its operation as finished inside its last workflow task: the history is whole once the run is
    await handle.result();
    const history = await handle.fetchHistory();
    // payload bytes come out base64 (and Uint8Array/Buffer before toJSON): decode both
    return JSON.stringify(history, (key, value: unknown) => {
      if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
      if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
      const v = value as { type?: unknown; data?: unknown } | null;
      if (v && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data as number[]).toString('utf8');
      return value;
    });
  }

  it('mints a token into the job at start, keeps it out of history, revokes it at stop and mints another at the next start', async () => {
    const owner = await seedUser(h.store, 'tokenowner');
    const tpl = await seedTemplate(h.store, { name: 'agenttok', job: jobWithTokenVariable(), volumes: seedVolumes() });
    const spaceId = newId(Date.now());
    await h.lifecycle.createSpace(
      { spaceId, name: 'tokens', ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id },
      owner.username,
      'agenttok',
    );
    const jobId = `tokens-${owner.username}`;

    const started = await run(spaceId, 'start', owner.id);
    expect(started.status).toBe('succeeded');
    const [env, ...more] = await agentEnvs(jobId);
    expect(more).toEqual([]);
    const token = env?.KNOT_AGENT_TOKEN ?? '';
    expect(token).toMatch(/^knot_agent_[A-Za-z0-9_-]{43}$/);
    expect(env?.EXTRA_AGENT_TOKEN).toBe(token);
    expect(await h.store.agentTokens.findByHash(hashToken(token))).toMatchObject({ spaceId, kind: 'start' });

    const history = await historyText(started);
    // the decoding works (the workflow input names the space) and no token is there; registering
    // the job and the wait are local activities (patches nomad-steps-local, start-wait-local): their
    // markers record the activity and its result, not its input
    expect(history).toContain(spaceId);
    expect(history).toContain('registerSpaceJob');
    expect(history).toContain('waitForSpaceRunning');
    expect(history).not.toContain(token);
    expect(history).not.toContain('knot_agent_');

    const stopped = await run(spaceId, 'stop', owner.id);
    expect(stopped.status).toBe('succeeded');
    expect(await h.store.agentTokens.findByHash(hashToken(token))).toBeNull();
    const agentEvents = (await h.store.events.after(0, { limit: 10_000 })).filter((e) => e.event.spaceId === spaceId && e.event.type === 'space.agent');
    expect(agentEvents.at(-1)?.event.agent).toMatchObject({ state: 'disconnected', connected: false, services: {} });

    const again = await run(spaceId, 'start', owner.id);
    expect(again.status).toBe('succeeded');
    const next = (await agentEnvs(jobId))[0]?.KNOT_AGENT_TOKEN ?? '';
    expect(next).toMatch(/^knot_agent_/);
    expect(next).not.toBe(token);
    expect(await h.store.agentTokens.findByHash(hashToken(next))).toMatchObject({ spaceId, kind: 'start' });
    expect(await h.store.agentTokens.findByHash(hashToken(token))).toBeNull();

    // a delete takes every token of the space, a manual one included
    const manual = generateAgentToken();
    await h.store.agentTokens.issue({ id: newId(Date.now()), spaceId, kind: 'manual', tokenHash: hashToken(manual) }, Date.now());
    expect((await run(spaceId, 'stop', owner.id)).status).toBe('succeeded');
    expect(await h.store.agentTokens.findByHash(hashToken(next))).toBeNull();
    expect(await h.store.agentTokens.findByHash(hashToken(manual))).not.toBeNull();
    expect((await run(spaceId, 'delete', owner.id)).status).toBe('succeeded');
    expect(await h.store.agentTokens.findByHash(hashToken(manual))).toBeNull();
  });
});
