/**
 * `npm run bench` / `node dist/bench/run.js [name...]`: runs the named benchmarks (all by default)
 * one after the other; each prints one `BENCH <name> ...` summary line on stdout, progress on stderr.
 */
import { runAgentIdle } from './agent-idle';
import { runAgentLinks } from './agent-links';
import { runApi } from './api';
import { runApiScale } from './api-scale';
import { runEvents } from './events';
import { runHttpPort } from './http-port';
import { runOverhead } from './overhead';
import { runPortForward } from './port-forward';
import { runQuotaOverhead } from './quota-overhead';
import { note } from './report';
import { runStores } from './stores';
import { runSpaceFilters } from './space-filters';
import { runSshConnect } from './ssh-connect';
import { runAutostartSweep, runSweeps } from './sweeps';
import { runTerminalLatency } from './terminal-latency';
import { runTerminalThroughput } from './terminal-throughput';
import { runThroughput } from './throughput';
import { runWebUi } from './web-ui';
import { runWebhooks } from './webhooks';

const BENCHMARKS: Record<string, () => Promise<string>> = {
  overhead: runOverhead,
  throughput: runThroughput,
  api: runApi,
  'api-scale': runApiScale,
  sweeps: runSweeps,
  'sweeps-autostart': runAutostartSweep,
  'web-ui': runWebUi,
  events: runEvents,
  stores: runStores,
  'space-filters': runSpaceFilters,
  'terminal-latency': runTerminalLatency,
  'terminal-throughput': runTerminalThroughput,
  'agent-links': runAgentLinks,
  'agent-idle': runAgentIdle,
  'port-forward': runPortForward,
  'ssh-connect': runSshConnect,
  'http-port': runHttpPort,
  webhooks: runWebhooks,
  'quota-overhead': runQuotaOverhead,
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const names = asked.length > 0 ? asked : Object.keys(BENCHMARKS);
  const unknown = names.filter((n) => !BENCHMARKS[n]);
  if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  let failed = 0;
  for (const name of names) {
    const started = Date.now();
    try {
      await BENCHMARKS[name]!();
    } catch (e) {
      failed++;
      console.log(`BENCH ${name} error=${JSON.stringify((e as Error).message)}`);
      note(`${name}: ${(e as Error).stack ?? String(e)}`);
    }
    note(`${name} took ${Math.round((Date.now() - started) / 1000)} s`);
  }
  process.exit(failed > 0 ? 1 : 0);
}

void main();
