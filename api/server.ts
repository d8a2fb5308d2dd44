/** Starts the app on a port (0 = ephemeral) and closes it cleanly. */
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { createApp, servicesOf } from './app';
import type { AppDeps } from './context';
import { attachAgentLinks, type LinkRegistry } from './agent-link';

export interface ApiServer {
  url: string;
  /** the agent links this process holds */
  links: LinkRegistry;
  close(): Promise<void>;
}

/** Where this process is reached when `server.advertise_url` is not set: its listen address (a wildcard one: this host's name). */
function ownUrl(host: string, port: number): string {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const name = wildcard ? os.hostname() : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

export async function startApiServer(deps: AppDeps, listen: { host?: string; port?: number } = {}): Promise<ApiServer> {
  const svc = servicesOf(deps);
  const app = createApp(deps, svc);
  const host = listen.host ?? '127.0.0.1';
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(listen.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const agentLinks = attachAgentLinks(server, svc, deps.agentLinks, deps.config.server.advertise_url || ownUrl(host, port));
  // the SSH key routes call this: the spaces of that user linked here get the new keys at once
  const injected = svc.sshKeysChanged;
  svc.sshKeysChanged = (userId) => {
    injected?.(userId);
    void agentLinks.links.sshKeysChanged(userId);
  };
  // the share and transfer routes call this: revocations take effect at once in this process
  svc.spaceAccessChanged = (spaceId) => agentLinks.links.spaceAccessChanged(spaceId);
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${port}`,
    links: agentLinks.links,
    close: () =>
      new Promise<void>((resolve, reject) => {
        svc.events.close();
        agentLinks.close();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
