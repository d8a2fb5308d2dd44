/**
 * The API alone in a process of its own, as `knot server` builds it (the configured store, Redis
 * agent state when configured, JSON logs at `info` — one access line per request — and the metrics
 * registry), but with no Temporal: the API benchmark only reads, so the lifecycle refuses. Run by
 * bench/api-scale.ts through `fork` (the KNOT_* environment chooses the store) so that the load
 * generator does not share its CPU and `--cpu-prof` profiles the API and nothing else. Sends
 * `{ url }` over IPC once listening; exits cleanly on SIGTERM (the profile is written at exit).
 */
import { createWriteStream } from 'node:fs';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/logger';
import { startApiServer } from '../api/server';
import { healthChecks, openStoreAndRedis } from '../cli/services';
import { createAgentStateStore } from '../store/agent-state';
import { KnotMetrics } from '../metrics/metrics';

async function main(): Promise<void> {
  const cfg = loadConfig('', process.env);
  // a file, as a log collector would take them: the lines are written (their cost counted), not shown
  const out = createWriteStream(process.env.BENCH_API_LOG_FILE ?? '/dev/null');
  const logger = createLogger(cfg.log.level, 'knot', out);
  const { store, redis } = await openStoreAndRedis(cfg, logger);
  const refuse = async (): Promise<never> => {
    throw new Error('the API benchmark runs no Temporal: lifecycle operations are not measured here');
  };
  const api = await startApiServer(
    {
      store,
      config: cfg,
      logger,
      lifecycle: { startOperation: refuse, createSpace: refuse },
      nomad: { parseJob: refuse },
      metrics: new KnotMetrics({ processMetrics: true }),
      health: { checks: healthChecks(store, async () => true, redis), store: store.kind },
      agentState: createAgentStateStore(cfg, store, redis),
      webRoot: null,
      agentRoot: null,
      // the load generator is one client address; failures are not expected, but never throttle it
      authFailures: { max: 1_000_000, windowMs: 1000 },
    },
    { host: '127.0.0.1', port: 0 },
  );
  process.send?.({ url: api.url });
  process.once('SIGTERM', () => {
    void (async () => {
      await api.close();
      await store.close();
      await redis?.quit();
      out.end(() => process.exit(0));
    })();
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`api-server: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
