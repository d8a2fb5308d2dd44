/**
 * What the space offers, rescanned every few seconds: the terminal, SSH (something listens on its
 * port), code-server (its /healthz answers 200) and the other listening TCP ports. The report changes only when the
 * scan does, so a quiet space sends nothing.
 */
import net from 'node:net';
import type { AgentServices } from '../core/agent-status';
import type { HealthProbe, HttpPortProber } from './http-probe';
import { readListeningPorts, readOwnListeningPorts, reportablePorts } from './listening-ports';

export const SERVICE_SCAN_MS = 5_000;

export interface ServiceScanOptions {
  terminal: boolean;
  sshPort: number | null;
  codeServerPort: number | null;
  /** the agent's own ports, left out of `ports` */
  ownPorts: number[];
  /** KNOT_HTTP_PORT: HTTP whether or not a probe says so */
  declaredHttpPorts?: number[];
  /** names from KNOT_HTTP_PORT / KNOT_TCP_PORT, by port */
  portNames?: Record<string, string>;
  /** finds the listening ports that answer HTTP; none are probed without it */
  prober?: HttpPortProber;
  /** asks code-server's /healthz; without it, listening on its port is enough */
  codeServerProbe?: HealthProbe;
}

/** Whether something accepts TCP on 127.0.0.1:port (used where /proc/net is missing). */
export function acceptsConnections(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `readPorts` gives every listening port (SSH and code-server may be run by root in an image);
 * `readOwnPorts` the ones the space's user opened, which are what the Ports list offers, plus
 * the declared ones (KNOT_HTTP_PORT) while they listen.
 */
export async function scanServices(
  opts: ServiceScanOptions,
  readPorts: () => Promise<number[] | null> = readListeningPorts,
  readOwnPorts: () => Promise<number[] | null> = readPorts === readListeningPorts ? readOwnListeningPorts : readPorts,
): Promise<AgentServices> {
  const [listening, own] = await Promise.all([readPorts(), readOwnPorts()]);
  const listens = async (port: number | null) => {
    if (port === null) return false;
    return listening ? listening.includes(port) : acceptsConnections(port);
  };
  const [ssh, codeServerListens] = await Promise.all([listens(opts.sshPort), listens(opts.codeServerPort)]);
  if (!codeServerListens) opts.codeServerProbe?.forget();
  const codeServer = codeServerListens && opts.codeServerPort !== null && (opts.codeServerProbe ? await opts.codeServerProbe.healthy(opts.codeServerPort) : true);
  const declared = opts.declaredHttpPorts ?? [];
  const ports = listening ? reportablePorts([...(own ?? listening), ...declared.filter((p) => listening.includes(p))], opts.ownPorts) : [];
  // SSH never answers HTTP; asking it would only log a failed handshake
  const probed = opts.prober ? await opts.prober.httpPorts(ports.filter((p) => p !== opts.sshPort && !declared.includes(p))) : [];
  // a declared port counts while it listens (or always, where listening ports cannot be read)
  const httpPorts = reportablePorts([...probed, ...declared.filter((p) => !listening || ports.includes(p))], opts.ownPorts);
  const names = opts.portNames && Object.keys(opts.portNames).length ? { portNames: opts.portNames } : {};
  // the UI opens it through the port proxy, so it needs the port
  const codeServerPort = codeServer ? { codeServerPort: opts.codeServerPort! } : {};
  return { terminal: opts.terminal, ssh, codeServer, ...codeServerPort, ports, httpPorts, ...names };
}

/** Scans now and every `intervalMs`, calling `onScan` with each result; returns the stop. */
export function watchServices(opts: ServiceScanOptions, onScan: (services: AgentServices) => void, onError: (err: unknown) => void, intervalMs = SERVICE_SCAN_MS): () => void {
  let stopped = false;
  let running = false;
  const scan = () => {
    if (running || stopped) return; // a slow scan is never overlapped by the next
    running = true;
    scanServices(opts)
      .then((s) => {
        if (!stopped) onScan(s);
      })
      .catch(onError)
      .finally(() => {
        running = false;
      });
  };
  scan();
  const timer = setInterval(scan, intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
