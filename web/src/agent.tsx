/**
 * A space's agent as the UI shows it: the link state in plain words, and the service icons
 * (Terminal here; SSH, Code Server and Ports in service-icons.tsx). The API's
 * `status.agent` and the `space.agent` event's `agent` are both core/agent-status `AgentStatus`.
 */
import type { AgentStatus } from '../../core/agent-status';
import type { KnotEvent, Space } from './api';
import { ServiceGlyph } from './components';
import { when } from './format';
import { CodeServerLink, PortsMenu, SshButton, useWildcardDomain } from './service-icons';

export type { AgentStatus };

export function agentOf(space: Space): AgentStatus {
  return space.status.agent;
}

/** A `space.agent` event: the row takes its `agent` as is, nothing is refetched. */
export function isAgentEvent(e: KnotEvent): boolean {
  return e.type === 'space.agent';
}

/** Only `space.agent` events carry it (null on the others, and on events stored before it existed). */
export function eventAgent(e: KnotEvent): AgentStatus | null {
  return e.agent ?? null;
}

/** The space with the event's phase and agent applied (the same object when nothing changed). */
export function withEvent(space: Space, phase: string | null, agent: AgentStatus | null): Space {
  let status = space.status;
  if (phase && phase !== status.phase) status = { ...status, phase: phase as Space['status']['phase'] };
  if (agent) status = { ...status, agent };
  return status === space.status ? space : { ...space, status };
}

export function terminalHref(spaceId: string): string {
  return `/spaces/${encodeURIComponent(spaceId)}/terminal`;
}

const LINK_TEXT: Record<AgentStatus['state'], string> = {
  connecting: 'agent connecting…',
  connected: 'agent connected',
  disconnected: 'agent disconnected',
  timeout: 'agent not connecting (timeout) — the space may not reach the server',
};

function sinceTitle(a: AgentStatus): string | undefined {
  return a.since ? `since ${when(a.since)}` : undefined;
}

/** Next to the status of a running space whose agent is not connected: why there are no icons. */
export function AgentNote(props: { space: Space }) {
  const a = agentOf(props.space);
  if (props.space.status.phase !== 'running' || a.state === 'connected') return null;
  return (
    <span class={`agent agent-${a.state}`} title={sinceTitle(a)}>
      {LINK_TEXT[a.state]}
    </span>
  );
}

/** Opens the terminal page in a new window; its accessible name is exactly "Terminal". */
export function TerminalLink(props: { space: Space }) {
  return (
    <a class="service" href={terminalHref(props.space.id)} target="_blank" rel="noopener" title={`Open a terminal in ${props.space.name} (new window)`}>
      <ServiceGlyph kind="terminal" />
      Terminal
    </a>
  );
}

/** Whether a running space's connected agent offers anything to open. */
function offersServices(space: Space): boolean {
  const a = agentOf(space);
  const s = a.services;
  return space.status.phase === 'running' && a.state === 'connected' && Boolean(s.terminal || s.ssh || s.codeServer || s.ports?.length || s.httpPorts?.length);
}

/** Each service the agent reports, as its icon; code-server and ports wait for the wildcard domain (their addresses depend on it). */
function ServiceIcons(props: { space: Space }) {
  const s = agentOf(props.space).services;
  const domain = useWildcardDomain();
  const ports = Boolean(s.ports?.length || s.httpPorts?.length);
  return (
    <span class="services">
      {s.terminal ? <TerminalLink space={props.space} /> : null}
      {s.ssh ? <SshButton space={props.space} /> : null}
      {s.codeServer && s.codeServerPort && domain !== undefined ? <CodeServerLink space={props.space} port={s.codeServerPort} wildcardDomain={domain} /> : null}
      {ports && domain !== undefined ? <PortsMenu space={props.space} wildcardDomain={domain} /> : null}
    </span>
  );
}

/** The services a connected agent offers, for a running space; a dash otherwise. */
export function AgentServices(props: { space: Space }) {
  if (!offersServices(props.space)) return <span class="muted">—</span>;
  return <ServiceIcons space={props.space} />;
}

/** The space page's line about the agent: state, version, sessions, since when; and the services. */
export function AgentSummary(props: { space: Space }) {
  const a = agentOf(props.space);
  if (props.space.status.phase !== 'running') return <span class="muted">not running</span>;
  const facts = a.state === 'connected' ? [a.version ? `version ${a.version}` : null, `${a.sessions} ${a.sessions === 1 ? 'session' : 'sessions'}`].filter(Boolean).join(', ') : '';
  return (
    <span class="agent-summary">
      <span class={`agent agent-${a.state}`} title={sinceTitle(a)}>
        {LINK_TEXT[a.state]}
      </span>
      {facts ? <span class="muted"> ({facts})</span> : null}
      {offersServices(props.space) ? (
        <>
          {' '}
          <ServiceIcons space={props.space} />
        </>
      ) : null}
    </span>
  );
}
