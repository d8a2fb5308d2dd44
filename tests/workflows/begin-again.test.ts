/**
 * A lifecycle workflow whose begin runs again after its operation was finished (the begin is a
 * local activity: a worker that dies before the workflow task is recorded runs it again, perhaps
 * after the first run finished the operation and others moved the space on). The second run must
 * end as the operation did and touch nothing. Here the second run is a fresh execution of the
 * same input on the real Temporal dev server, under another workflow id, after the space moved on:
 * exactly what the begin sees when it runs again late.
 */
import { newId } from '../../core/names';
import type { CreateSpaceInput, LifecycleInput } from '../../core/lifecycle';
import { LIFECYCLE_WORKFLOWS } from '../../temporal/workflows';
import type { Operation, OperationType } from '../../store/model';
import { storeKinds } from '../support/db';
import { seedJob, seedTemplate, seedUser, seedVolumes, spaceOf, startHarness, waitForOperation, type Harness } from '../support/harness';

describe.each(storeKinds())('a lifecycle workflow run again after its operation finished, on %s', (kind) => {
  let h: Harness;
  let owner: { id: string; username: string };
  let templateId: string;
  beforeAll(async () => {
    h = await startHarness(kind);
    owner = await seedUser(h.store, `again${kind}`);
    templateId = (await seedTemplate(h.store, { name: 'debian', job: seedJob(), volumes: seedVolumes() })).id;
  });
  afterAll(async () => {
    await h.close();
  });

  const run = async (spaceId: string, type: Exclude<OperationType, 'create'>): Promise<Operation> => {
    const op = await h.lifecycle.startOperation({ spaceId, type, requestedBy: owner.id, ownerName: owner.username, templateName: 'debian' });
    return waitForOperation(h.store, op.id);
  };
  /** the operation's workflow once more, with the input it was started with */
  const again = (op: Operation) => {
    const input: LifecycleInput = { spaceId: op.spaceId, operationId: op.id, type: op.type, requestedBy: op.requestedBy };
    return h.client.workflow.execute(LIFECYCLE_WORKFLOWS[op.type as Exclude<OperationType, 'create'>], { taskQueue: h.taskQueue, workflowId: `again-${op.id}`, args: [input] });
  };
  const jobsOf = (name: string) => h.sandbox.state().jobs.filter((j) => j.ID === `${name}-${owner.username}` && j.Stop !== true);
  /** a space created and started; the create's input, to run it again */
  const startedSpace = async (name: string): Promise<{ spaceId: string; createInput: CreateSpaceInput }> => {
    const spaceId = newId(Date.now());
    const fields = { spaceId, name, ownerId: owner.id, templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null, requestedBy: owner.id };
    const { operation: create } = await h.lifecycle.createSpace(fields, owner.username, 'debian');
    await waitForOperation(h.store, create.id);
    expect((await run(spaceId, 'start')).status).toBe('succeeded');
    return { spaceId, createInput: { ...fields, operationId: create.id } };
  };

  it('a stop that finished, run again after the space started once more, leaves it running with its job', async () => {
    const { spaceId, createInput } = await startedSpace('again1');
    const stop = await run(spaceId, 'stop');
    expect(stop.status).toBe('succeeded');
    expect((await run(spaceId, 'start')).status).toBe('succeeded');
    const before = await spaceOf(h.store, spaceId);
    expect(jobsOf('again1')).toHaveLength(1);

    await expect(again(stop)).resolves.toMatchObject({ operationId: stop.id, phase: 'running' });
    const after = await spaceOf(h.store, spaceId);
    expect(after.phase).toBe('running');
    expect(after.lastOperationId).toBe(before.lastOperationId);
    expect(after.nomadJobId).toBe(before.nomadJobId);
    expect(jobsOf('again1')).toHaveLength(1);
    expect(await h.store.operations.get(stop.id)).toMatchObject({ status: 'succeeded', finishedAt: stop.finishedAt });

    // the create, run again, neither records the space anew nor moves it
    await expect(h.client.workflow.execute(LIFECYCLE_WORKFLOWS.create, { taskQueue: h.taskQueue, workflowId: `again-${createInput.operationId}`, args: [createInput] })).resolves.toMatchObject({ phase: 'running' });
    expect(await spaceOf(h.store, spaceId)).toMatchObject({ phase: 'running', lastOperationId: before.lastOperationId, updatedAt: after.updatedAt });
  });

  it('a delete that failed, run again after the space was stopped, fails as it did and deletes nothing', async () => {
    const { spaceId } = await startedSpace('again2');
    // a running space is not deleted: the delete's begin refuses it and the operation fails
    const refused = await run(spaceId, 'delete');
    expect(refused.status).toBe('failed');
    expect(refused.errorType).toBeTruthy();
    expect((await run(spaceId, 'stop')).status).toBe('succeeded');
    const volumesOf = () => h.sandbox.state().csiVolumes.map((v) => v.ID).filter((id) => id.includes(spaceId));
    expect(volumesOf()).toEqual([`debian_${spaceId}_home`]);

    // now stopped, the space would be deleted by a delete that began now: the one run again must not
    await expect(again(refused)).rejects.toMatchObject({ cause: { type: refused.errorType } });
    expect(await spaceOf(h.store, spaceId)).toMatchObject({ phase: 'stopped', deletedAt: null });
    expect(volumesOf()).toEqual([`debian_${spaceId}_home`]);
    expect(await h.store.operations.get(refused.id)).toMatchObject({ status: 'failed', errorType: refused.errorType, finishedAt: refused.finishedAt });
  });
});
