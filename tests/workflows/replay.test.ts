/**
 * Determinism guard: histories recorded from real runs of every lifecycle workflow are replayed
 * against the current workflow code. A change to a running workflow's steps that is not behind
 * `patched()` fails here. Record new histories with `KNOT_RECORD_HISTORIES=1 npx jest
 * tests/workflows/replay.test.ts` (after `eval "$(bash scripts/services.sh start)"`).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { newId } from '../../core/names';
import { seedJob, seedTemplate, seedUser, seedVolumes, startHarness, waitForOperation } from '../support/harness';

const DIR = path.join(__dirname, 'histories');
const recording = process.env.KNOT_RECORD_HISTORIES === '1';

(recording ? it : it.skip)('records one history per workflow path', async () => {
  const h = await startHarness('sqlite');
  try {
    const owner = await seedUser(h.db, 'replay');
    const tpl = await seedTemplate(h.db, { name: 'debian', job: seedJob(), volumes: seedVolumes() });
    const spaceId = newId(Date.now());
    await h.lifecycle.createSpace({ spaceId, name: 'replay', ownerId: owner.id, templateId: tpl.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id }, owner.username, 'debian');
    const save = async (name: string, runId?: string) => {
      const history = await h.client.workflow.getHandle(`space-${spaceId}`, runId).fetchHistory();
      // the message's own toJSON: historyToJSON trips over the second protobufjs copy under @temporalio/common
      writeFileSync(path.join(DIR, `${name}.json`), JSON.stringify(history));
    };
    await save('create');
    const run = async (type: 'start' | 'stop' | 'restart' | 'update' | 'delete', name: string) => {
      const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName: 'debian', ...(type === 'update' ? { spec: { shell: 'zsh' } } : {}) });
      await waitForOperation(h.db, op.id);
      await save(name);
    };
    await run('start', 'start');
    await run('restart', 'restart-running');
    await run('update', 'update-running');
    h.sandbox.setFaults({ failAllocations: '.*' });
    await run('stop', 'stop');
    await run('start', 'start-compensated');
    h.sandbox.setFaults({});
    await run('delete', 'delete');
  } finally {
    await h.close();
  }
});

it('replays every recorded history against the current workflow code', async () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  expect(files.length).toBeGreaterThanOrEqual(7);
  const histories = files.map((f) => ({ workflowId: f, history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(DIR, f), 'utf8'))) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: process.env.KNOT_TEST_WORKFLOW_BUNDLE! } }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
});
