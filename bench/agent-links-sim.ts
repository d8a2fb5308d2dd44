/**
 * The simulated agents of the agent-links benchmark, run as a child process (`fork`) so the API's
 * memory and CPU are measured without them. Each agent is what agent/link.ts does on the wire and
 * no more: a WebSocket to LINK_PATH with its token, an HTTP/2 server over it, and `GET /v1/state`
 * answered with one AgentStateReport line (then, when asked, one with a new lastActivity every
 * `everyMs`, each agent at its own phase). WebSocket pings are answered by `ws` itself.
 *
 * Messages from the parent: {dial}, {report}, {quiet}, {stop}; answers: {linked}, {reporting}.
 */
import http2, { type ServerHttp2Stream } from 'node:http2';
import WebSocket, { createWebSocketStream } from 'ws';
import { AGENT_VERSION_HEADER, AgentRoute, LINK_MAX_MESSAGE, LINK_SUBPROTOCOL, SPACE_ID_HEADER, type AgentStateReport } from '../link/protocol';

export interface SimAgentSpec {
  spaceId: string;
  token: string;
}

export type SimCommand =
  | { type: 'dial'; linkUrl: string; agents: SimAgentSpec[]; concurrency: number }
  | { type: 'report'; everyMs: number }
  | { type: 'quiet' }
  | { type: 'stop' };

export type SimAnswer = { type: 'linked'; linked: number; failed: number; errors: string[] } | { type: 'reporting'; agents: number };

interface SimAgent {
  ws: WebSocket;
  /** the server's open state stream, once it asked */
  state: ServerHttp2Stream | null;
  reports: number;
}

const REPORT_BASE: Omit<AgentStateReport, 'lastActivity'> = { version: '0.1.0-sim', services: { terminal: true, ssh: false, codeServer: false, ports: [] }, sessions: 0 };

function writeReport(a: SimAgent): void {
  const s = a.state;
  if (!s || s.destroyed || !s.writable) return;
  a.reports++;
  s.write(`${JSON.stringify({ ...REPORT_BASE, lastActivity: Date.now() })}\n`);
}

/** One agent: resolves once its link is open and the server has opened the state stream. */
function dial(linkUrl: string, spec: SimAgentSpec): Promise<SimAgent> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(linkUrl, LINK_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${spec.token}`, [AGENT_VERSION_HEADER]: REPORT_BASE.version, [SPACE_ID_HEADER]: spec.spaceId },
      maxPayload: LINK_MAX_MESSAGE,
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    const agent: SimAgent = { ws, state: null, reports: 0 };
    let settled = false;
    ws.on('error', (e) => {
      if (!settled) reject(e);
      settled = true;
    });
    ws.on('close', (code) => {
      if (!settled) reject(new Error(`closed ${code}`));
      settled = true;
    });
    ws.on('open', () => {
      // roles reversed, as on the real link: the server is the HTTP/2 client
      const h2 = http2.createServer();
      h2.on('stream', (stream, headers) => {
        stream.on('error', () => {});
        if (headers[':path'] !== AgentRoute.state) {
          stream.respond({ ':status': 404 });
          stream.end();
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
        stream.resume();
        agent.state = stream;
        writeReport(agent);
        if (!settled) resolve(agent);
        settled = true;
      });
      h2.on('sessionError', () => {});
      const duplex = createWebSocketStream(ws);
      duplex.on('error', () => {});
      h2.emit('connection', duplex);
    });
  });
}

async function dialAll(cmd: Extract<SimCommand, { type: 'dial' }>, into: SimAgent[]): Promise<SimAnswer> {
  let next = 0;
  let failed = 0;
  const errors: string[] = [];
  const worker = async () => {
    while (next < cmd.agents.length) {
      const spec = cmd.agents[next++]!;
      try {
        into.push(await dial(cmd.linkUrl, spec));
      } catch (e) {
        failed++;
        if (errors.length < 5) errors.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cmd.concurrency) }, worker));
  return { type: 'linked', linked: into.length, failed, errors };
}

function main(): void {
  const agents: SimAgent[] = [];
  let timers: NodeJS.Timeout[] = [];
  const send = (a: SimAnswer) => process.send?.(a);
  process.on('message', (cmd: SimCommand) => {
    switch (cmd.type) {
      case 'dial':
        void dialAll(cmd, agents).then(send);
        return;
      case 'report':
        // every agent on its own phase within the period, so reports arrive evenly, not in bursts
        timers = agents.map((a, i) => {
          const t = setTimeout(() => {
            writeReport(a);
            timers[i] = setInterval(() => writeReport(a), cmd.everyMs);
          }, (i / agents.length) * cmd.everyMs);
          return t;
        });
        send({ type: 'reporting', agents: agents.length });
        return;
      case 'quiet':
        timers.forEach((t) => clearTimeout(t));
        timers = [];
        return;
      case 'stop':
        timers.forEach((t) => clearTimeout(t));
        for (const a of agents) a.ws.terminate();
        process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) main();
