/**
 * The per-space actions: Start / Stop / Restart / Update / Delete, and Cancel while an operation
 * runs. Update asks the server for the volume plan first and, when volumes would be deleted, says
 * so and needs a confirmation; Delete (stopped spaces only) confirms that the volumes and their
 * data go.
 */
import { useState } from 'preact/hooks';
import { api, type Space, type UpdatePlan } from './api';
import { Dialog, errorText } from './components';
import type { LiveOp } from './spaces-store';

const SETTLED = new Set(['stopped', 'running', 'failed']);

/** The operation running on a space now, from the live stream or the last known one. */
export function runningOp(space: Space, live: LiveOp | undefined): { id: string; type: string; step: string | null } | null {
  if (live && (live.status === 'pending' || live.status === 'running')) return { id: live.operationId, type: live.operationType ?? '', step: live.step };
  const last = space.status.lastOperation;
  if (last && (last.status === 'pending' || last.status === 'running') && (!live || live.operationId !== last.id)) return { id: last.id, type: last.type, step: null };
  return null;
}

export function SpaceActions(props: { space: Space; live: LiveOp | undefined; onOperation: (spaceId: string, op: LiveOp) => void; onError: (e: unknown) => void }) {
  const { space } = props;
  const [plan, setPlan] = useState<UpdatePlan | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [acknowledged, setAcknowledged] = useState(false);
  const [busy, setBusy] = useState(false);
  const phase = space.status.phase;
  const op = runningOp(space, props.live);
  const name = space.name;
  // what the caller's role allows (core/space-roles.ts): a viewer only looks, a user operates, the owner or an admin also manages
  const operates = space.role !== null && space.role !== 'viewer';
  const manages = space.role === 'owner' || space.role === 'admin';

  async function run(action: 'start' | 'stop' | 'restart' | 'update' | 'delete') {
    setBusy(true);
    try {
      const { operation } =
        action === 'delete' ? await api().deleteSpace(space.id) : await api().spaceAction(space.id, action);
      props.onOperation(space.id, { operationId: operation.id, operationType: operation.type, status: operation.status, step: null, stepStatus: null, error: null });
    } catch (e) {
      props.onError(e);
    } finally {
      setBusy(false);
    }
  }

  async function askUpdate() {
    try {
      setAcknowledged(false);
      setPlan(await api().updatePlan(space.id));
    } catch (e) {
      props.onError(e);
    }
  }

  async function cancel() {
    if (!op) return;
    try {
      await api().cancelOperation(op.id);
    } catch (e) {
      props.onError(e);
    }
  }

  const settled = SETTLED.has(phase) && !op && operates;
  return (
    <div class="actions">
      {op && operates ? (
        <button type="button" onClick={cancel} aria-label={`Cancel ${op.type || 'operation'} of ${name}`}>
          Cancel
        </button>
      ) : null}
      {settled && phase !== 'running' ? (
        <button type="button" disabled={busy} onClick={() => run('start')} aria-label={`Start ${name}`}>
          Start
        </button>
      ) : null}
      {settled && phase !== 'stopped' ? (
        <button type="button" disabled={busy} onClick={() => run('stop')} aria-label={`Stop ${name}`}>
          Stop
        </button>
      ) : null}
      {settled && phase === 'running' ? (
        <button type="button" disabled={busy} onClick={() => run('restart')} aria-label={`Restart ${name}`}>
          Restart
        </button>
      ) : null}
      {settled && manages && space.status.updateAvailable ? (
        <button type="button" disabled={busy} onClick={askUpdate} aria-label={`Update ${name}`}>
          Update
        </button>
      ) : null}
      {settled && manages && phase === 'stopped' ? (
        <button type="button" class="danger" disabled={busy} onClick={() => setConfirmDelete(true)} aria-label={`Delete ${name}`}>
          Delete
        </button>
      ) : null}

      {plan ? (
      <Dialog title={`Update ${name}?`} onClose={() => setPlan(null)} describedBy="update-plan-text">
        {plan ? (
          <div id="update-plan-text">
            <p>
              Applies template version <strong>{plan.targetVersion}</strong> (now {plan.appliedVersion ?? 'none'}).{' '}
              {phase === 'running' ? 'The space is stopped and started again; data in memory is lost.' : 'The space is started on it.'}
            </p>
            {plan.create.length > 0 ? (
              <>
                <h3>Volumes to be created</h3>
                <ul>
                  {plan.create.map((v) => (
                    <li key={v.id}>{v.name}</li>
                  ))}
                </ul>
              </>
            ) : null}
            {plan.remove.length > 0 ? (
              <div class="warning" role="alert">
                <h3>Volumes to be DELETED WITH THEIR DATA</h3>
                <ul>
                  {plan.remove.map((v) => (
                    <li key={v.id}>{v.id}</li>
                  ))}
                </ul>
                <label class="inline">
                  <input type="checkbox" checked={acknowledged} onChange={(e) => setAcknowledged((e.target as HTMLInputElement).checked)} /> I understand that these volumes and all their data will be deleted
                </label>
              </div>
            ) : (
              <p>No volume will be deleted.</p>
            )}
            {plan.keep.length > 0 ? <p>Kept with their data: {plan.keep.map((v) => v.name).join(', ')}</p> : null}
          </div>
        ) : null}
        <div class="dialog-buttons">
          <button type="button" onClick={() => setPlan(null)}>
            Keep as is
          </button>
          <button
            type="button"
            class={plan && plan.remove.length ? 'danger' : 'primary'}
            disabled={!plan || (plan.remove.length > 0 && !acknowledged)}
            onClick={() => {
              setPlan(null);
              // seed 000: a stopped space is updated by starting it, which applies the latest version
              void run(phase === 'running' ? 'update' : 'start');
            }}
          >
            Update space
          </button>
        </div>
      </Dialog>
      ) : null}

      {confirmDelete ? (
      <Dialog title={`Delete ${name}?`} onClose={() => setConfirmDelete(false)} describedBy="delete-text">
        <div id="delete-text" class="warning">
          <p>
            Deleting the space deletes <strong>its volumes and all the data they contain</strong>. This cannot be undone.
          </p>
          {space.status.volumes.length > 0 ? (
            <ul>
              {space.status.volumes.map((v) => (
                <li key={v.id}>{v.id}</li>
              ))}
            </ul>
          ) : null}
        </div>
        <div class="dialog-buttons">
          <button type="button" onClick={() => setConfirmDelete(false)}>
            Keep space
          </button>
          <button
            type="button"
            class="danger"
            onClick={() => {
              setConfirmDelete(false);
              void run('delete');
            }}
          >
            Delete space and volumes
          </button>
        </div>
      </Dialog>
      ) : null}
      {props.live?.error && props.live.status === 'failed' ? <span class="sr-only">{errorText(props.live.error)}</span> : null}
    </div>
  );
}
