/**
 * The SSH, Code Server and Ports icons of a connected space (beside Terminal, in agent.tsx), from
 * `status.agent.services`. Web ports and code-server open through the server's port proxy: on an
 * app host of their own (`<owner>--<space>--<port>.<wildcard domain>`) when the server has a
 * wildcard domain — a root path and an origin apart from knot's, which code-server works best
 * with — else by path on knot's origin.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { portAppPath } from '../../link/protocol';
import { api, type Space, type SpaceSsh } from './api';
import { Dialog, errorText, ServiceGlyph } from './components';
import { useMe } from './session';

let wildcard: Promise<string> | null = null;

/** server.wildcard_domain ('' when not set), asked once per page load; undefined until known. */
export function useWildcardDomain(): string | undefined {
  const [domain, setDomain] = useState<string | undefined>(undefined);
  useEffect(() => {
    // a server that cannot say (an older one, an error) gets the path form, which always works
    wildcard ??= api()
      .uiSettings()
      .then((s) => s.wildcardDomain ?? '', () => '');
    let live = true;
    void wildcard.then((d) => live && setDomain(d));
    return () => {
      live = false;
    };
  }, []);
  return domain;
}

/** Where a web port of the space opens in the browser. */
export function portUrl(space: Space, port: number, wildcardDomain: string): string {
  if (!wildcardDomain) return portAppPath(space.owner, space.name, port);
  return `${location.protocol}//${space.owner}--${space.name}--${port}.${wildcardDomain}${location.port ? `:${location.port}` : ''}/`;
}

/** A command in a read-only field with a Copy button (the field stays selectable where the clipboard is off). */
function CopyLine(props: { id: string; label: string; value: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  const copy = () => {
    input.current?.select();
    const done = () => setCopied(true);
    // the Clipboard API needs a secure context; execCommand is the fallback there
    if (navigator.clipboard) navigator.clipboard.writeText(props.value).then(done, () => document.execCommand('copy') && done());
    else if (document.execCommand('copy')) done();
  };
  return (
    <div class="copy-line">
      <label for={props.id}>{props.label}</label>
      <span class="copy-row">
        <input id={props.id} ref={input} readOnly value={props.value} class="mono" onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button type="button" onClick={copy} aria-describedby={props.id}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </span>
    </div>
  );
}

/** The space's ssh lines: from GET /spaces/:id/ssh, or the usual ones while it loads or when it cannot say. */
function SshDialog(props: { space: Space; onClose: () => void }) {
  const me = useMe();
  const [facts, setFacts] = useState<SpaceSsh | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => void api().getSpaceSsh(props.space.id).then(setFacts, setError), [props.space.id]);
  const own = props.space.owner === me.user.username;
  const host = facts?.sshConfigHost ?? (own ? `${props.space.name}.knot` : `${props.space.name}.${props.space.owner}.knot`);
  const base = `ssh-${props.space.id}`;
  return (
    <Dialog title={`SSH into ${props.space.name}`} onClose={props.onClose}>
      <p class="help">With the knot CLI signed in to this server, and an SSH key added to your account (Account page).</p>
      <CopyLine id={`${base}-cmd`} label="Connect" value={facts?.commands.ssh ?? `knot ssh ${props.space.name}${own ? '' : ` --owner ${props.space.owner}`}`} />
      <CopyLine id={`${base}-config`} label="Or add your spaces to ~/.ssh/config once" value={facts?.commands.sshConfig ?? 'knot ssh-config'} />
      <CopyLine id={`${base}-then`} label="then (also scp, sftp, VS Code Remote-SSH)" value={`ssh ${host}`} />
      <CopyLine id={`${base}-proxy`} label="For your own ssh config: the ProxyCommand" value={`ProxyCommand ${facts?.proxyCommand ?? 'knot forward ssh %h'}`} />
      {facts ? <CopyLine id={`${base}-known`} label="The host key, to pin in known_hosts" value={facts.knownHostsLine} /> : null}
      {error ? <p class="field-error">Could not load the host key: {errorText(error)}</p> : null}
      <div class="dialog-buttons">
        <button type="button" class="primary" onClick={props.onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

export function SshButton(props: { space: Space }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="service" onClick={() => setOpen(true)} aria-haspopup="dialog" title={`How to SSH into ${props.space.name}`}>
        <ServiceGlyph kind="ssh" />
        SSH
      </button>
      {open ? <SshDialog space={props.space} onClose={() => setOpen(false)} /> : null}
    </>
  );
}

/** code-server in a new tab, through the port proxy. */
export function CodeServerLink(props: { space: Space; port: number; wildcardDomain: string }) {
  return (
    <a class="service" href={portUrl(props.space, props.port, props.wildcardDomain)} target="_blank" rel="noopener" title={`Open Code Server in ${props.space.name} (new tab)`}>
      <ServiceGlyph kind="codeServer" />
      Code Server
    </a>
  );
}

/**
 * A disclosure: the "Ports" button shows the list below it; Escape (or a click elsewhere) closes
 * it and gives the focus back to the button. HTTP ports open in a new tab; TCP-only ones show the
 * `knot forward port` command that reaches them.
 */
export function PortsMenu(props: { space: Space; wildcardDomain: string }) {
  const { space } = props;
  const me = useMe();
  const s = space.status.agent.services;
  const [open, setOpen] = useState(false);
  const wrap = useRef<HTMLSpanElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      if (!wrap.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);
  const http = new Set(s.httpPorts ?? []);
  const all = [...new Set([...(s.ports ?? []), ...http])].sort((a, b) => a - b);
  const nameOf = (p: number) => s.portNames?.[String(p)] ?? (s.codeServer && p === s.codeServerPort ? 'code-server' : '');
  // the template makes these reachable over HTTP by anyone with the address: say so where they are listed
  const publicPorts = new Set(space.status.publicPorts ?? []);
  const forward = (p: number) => `knot forward port ${p} ${space.name} ${p}${space.owner === me.user.username ? '' : ` --owner ${space.owner}`}`;
  const panel = `ports-${space.id}`;
  return (
    <span
      class="menu-wrap"
      ref={wrap}
      onKeyDown={(e) => {
        if (e.key !== 'Escape' || !open) return;
        e.stopPropagation();
        setOpen(false);
        button.current?.focus();
      }}
    >
      <button ref={button} type="button" class="service" aria-expanded={open} aria-controls={panel} onClick={() => setOpen(!open)} title={`Ports open in ${space.name}`}>
        <ServiceGlyph kind="ports" />
        Ports
      </button>
      {open ? (
        <div id={panel} class="menu" role="group" aria-label={`Ports of ${space.name}`}>
          {all.length === 0 ? <p class="muted">Nothing listens in the space yet.</p> : null}
          <ul>
            {all.map((p) => (
              <li key={p}>
                {http.has(p) ? (
                  <a class="button primary port" href={portUrl(space, p, props.wildcardDomain)} target="_blank" rel="noopener" title={`Open port ${p} in a new tab`}>
                    {p}
                    {nameOf(p) ? ` ${nameOf(p)}` : ''}
                  </a>
                ) : (
                  <>
                    <span class="port port-tcp">
                      {p}
                      {nameOf(p) ? ` ${nameOf(p)}` : ''}
                    </span>
                    <CopyLine id={`${panel}-${p}`} label={`Port ${p} on your machine`} value={forward(p)} />
                  </>
                )}
                {publicPorts.has(p) ? (
                  <span class="badge" title="The template makes this port public: anyone with its address can open it over HTTP, without signing in">
                    public
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </span>
  );
}
