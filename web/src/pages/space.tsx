/**
 * One space: status, applied vs latest template version, volumes, operations with their step
 * timelines (the running one live from the event stream), the last error, and the workflow in
 * the Temporal UI.
 */
import { useEffect, useState } from 'preact/hooks';
import { AgentSummary, eventAgent, isAgentEvent, withEvent } from '../agent';
import { api, type OperationDetail, type Space, type Template, type UiSettings } from '../api';
import { ErrorBanner, ShownOnceDialog } from '../components';
import { duration, phaseLabel, reasonText, when } from '../format';
import { onEvent } from '../live';
import { SpaceActions } from '../space-actions';
import { SharingButtons } from '../share-dialog';
import { AutostartEditor } from '../autostart-editor';
import { DormancyFacts } from '../dormancy';
import type { LiveOp } from '../spaces-store';
import { EmptyState } from '../empty-state';

function Timeline(props: { op: OperationDetail; settings: UiSettings | null }) {
  const { op, settings } = props;
  const link = settings ? `${settings.temporalUiUrl}/namespaces/${encodeURIComponent(settings.temporalNamespace)}/workflows/${encodeURIComponent(op.workflowId)}${op.runId ? `/${encodeURIComponent(op.runId)}` : ''}/history` : null;
  return (
    <li class={`operation op-${op.status}`}>
      <div class="op-head">
        <strong>{op.type}</strong> <span class={`op-status op-status-${op.status}`}>{op.status}</span> <span class="muted">{when(op.createdAt)}</span>
        {link ? (
          <a href={link} target="_blank" rel="noopener noreferrer">
            Workflow in Temporal UI<span class="sr-only"> for {op.type} {op.id}</span>
          </a>
        ) : null}
      </div>
      {op.error ? (
        <p class="reason">
          {op.error.type}: {op.error.message}
        </p>
      ) : null}
      {op.steps.length ? (
        <ol class="steps" aria-label={`Steps of ${op.type}`}>
          {op.steps.map((s, i) => (
            <li key={`${s.name}-${i}`} class={`step-${s.outcome}`}>
              <span class="step-outcome" aria-hidden="true">
                {s.outcome === 'succeeded' ? '✓' : s.outcome === 'running' ? '…' : s.outcome === 'retrying' ? '↻' : '✗'}
              </span>{' '}
              {s.name} <span class="muted">{s.outcome}{s.durationMs !== null ? `, ${duration(s.durationMs)}` : ''}</span>
              {s.message ? <span class="reason"> — {s.message}</span> : null}
            </li>
          ))}
        </ol>
      ) : null}
    </li>
  );
}

export function SpacePage(props: { id: string }) {
  const [space, setSpace] = useState<Space | null>(null);
  const [template, setTemplate] = useState<Template | null>(null);
  const [ops, setOps] = useState<OperationDetail[]>([]);
  const [settings, setSettings] = useState<UiSettings | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState<LiveOp | undefined>(undefined);
  const [gone, setGone] = useState(false);

  async function loadSpace() {
    const s = await api().getSpace(props.id);
    setSpace(s);
    api().getTemplate(s.template).then(setTemplate, () => setTemplate(null));
    return s;
  }
  async function loadOps() {
    const list = await api().spaceOperations(props.id);
    const details = await Promise.all(list.items.slice(0, 10).map((o) => api().getOperation(o.id)));
    setOps(details);
  }
  async function refreshOp(id: string) {
    const d = await api().getOperation(id);
    setOps((cur) => (cur.some((o) => o.id === id) ? cur.map((o) => (o.id === id ? d : o)) : [d, ...cur]));
  }

  useEffect(() => {
    loadSpace().then(loadOps).catch(setError);
    api().uiSettings().then(setSettings, () => setSettings(null));
    return onEvent((e) => {
      if (e.type === 'reset') {
        void loadSpace().then(loadOps).catch(setError);
        return;
      }
      if (e.spaceId !== props.id) return;
      if (e.type === 'space.deleted') {
        setGone(true);
        return;
      }
      // the agent's link came or went: the event carries the whole agent status, nothing to fetch
      if (isAgentEvent(e)) {
        const agent = eventAgent(e);
        setSpace((s) => (s ? withEvent(s, e.phase, agent) : s));
        return;
      }
      if (e.operationId) {
        setLive({ operationId: e.operationId, operationType: e.operationType, status: e.status ?? 'running', step: e.step, stepStatus: e.stepStatus, error: e.error });
        void refreshOp(e.operationId).catch(() => undefined);
      }
      if (e.type !== 'operation.step') void loadSpace().catch(setError);
    });
  }, [props.id]);

  if (gone) {
    return (
      <main id="main">
        <h1>Space deleted</h1>
        <p>
          The space and its volumes are gone. <a href="/">Back to Spaces</a>
        </p>
      </main>
    );
  }
  if (!space) {
    return (
      <main id="main">
        <h1>Space</h1>
        {error ? <ErrorBanner error={error} /> : <p>Loading…</p>}
      </main>
    );
  }
  const st = space.status;
  return (
    <main id="main">
      <p>
        <a href="/">← Spaces</a>
      </p>
      <div class="page-head">
        <h1>{space.name}</h1>
        {/* one group: the page head spreads its children, and the actions belong together */}
        <div class="head-actions">
          <SpaceActions space={space} live={live} onOperation={(_, op) => setLive(op)} onError={setError} />
          <SharingButtons space={space} onChanged={setSpace} />
        </div>
      </div>
      <ErrorBanner error={error} />
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <span class={`phase phase-${st.phase}`}>{phaseLabel(st.phase)}</span>
          {live && (live.status === 'running' || live.status === 'pending') && live.step ? <span class="step"> {live.step}</span> : null}
        </dd>
        <dt>Agent</dt>
        <dd>
          <AgentSummary space={space} />
        </dd>
        <dt>Owner</dt>
        <dd>
          {space.owner}
          {space.sharedBy ? <span class="muted"> (shared with you as {space.role})</span> : null}
        </dd>
        <dt>Template</dt>
        <dd>
          {space.template} (follows {space.templateVersion || 'latest'})
        </dd>
        <dt>Applied version</dt>
        <dd>{st.appliedVersion ?? 'not started yet'}</dd>
        <dt>Latest version</dt>
        <dd>
          {template?.version ?? '—'} {st.updateAvailable ? <span class="badge">Update Available</span> : null}
        </dd>
        <dt>Shell</dt>
        <dd>{space.shell}</dd>
        {space.agentUrl ? (
          <>
            <dt>Agent URL</dt>
            <dd>{space.agentUrl}</dd>
          </>
        ) : null}
        {template?.type === 'manual' ? (
          <>
            <dt>Agent token</dt>
            <dd>
              <ManualAgentToken space={space} onError={setError} />
            </dd>
          </>
        ) : null}
        <dt>Nomad job</dt>
        <dd>{st.nomadJobId ?? '—'}</dd>
        <dt>Last error</dt>
        <dd>{reasonText(space) || 'none'}</dd>
        <DormancyFacts space={space} onSaved={setSpace} />
      </dl>
      <h2>Auto-start</h2>
      <AutostartEditor space={space} onSaved={setSpace} />
      <h2>Volumes</h2>
      {st.volumes.length ? (
        <ul>
          {st.volumes.map((v) => (
            <li key={v.id}>
              {v.id} <span class="muted">({v.type})</span>
            </li>
          ))}
        </ul>
      ) : (
        <EmptyState>No volumes yet. The template's volumes are created when the space starts, and kept when it stops.</EmptyState>
      )}
      <h2>Operations</h2>
      {ops.length ? (
        <ul class="operations">
          {ops.map((o) => (
            <Timeline key={o.id} op={o} settings={settings} />
          ))}
        </ul>
      ) : (
        <EmptyState>No operations yet. Each start, stop, update or delete is an operation, listed here with its steps: Start the space above to run the first.</EmptyState>
      )}
    </main>
  );
}

/**
 * A manual space's agent runs on the owner's machine: it needs a token for this space, shown once.
 * Issuing a new one replaces the old (an agent still using it is refused at its next dial).
 */
function ManualAgentToken(props: { space: Space; onError: (e: unknown) => void }) {
  const [issued, setIssued] = useState<string | null>(null);
  const issue = () => void api().issueAgentToken(props.space.id).then((t) => setIssued(t.token), props.onError);
  const command = issued ? `KNOT_SERVER=${location.origin} KNOT_SPACEID=${props.space.id} KNOT_AGENT_TOKEN=${issued} knot agent` : '';
  return (
    <>
      <button type="button" onClick={issue}>
        Issue agent token
      </button>{' '}
      <span class="muted">replaces the one issued before</span>
      {issued ? (
        <ShownOnceDialog
          title={`Agent token for ${props.space.name}`}
          intro="Shown once — copy it now. Run the agent where the space lives:"
          label="Agent command"
          value={command}
          onClose={() => setIssued(null)}
        />
      ) : null}
    </>
  );
}
