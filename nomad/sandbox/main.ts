import pino from 'pino';
import type { Faults } from './faults';
import { startSandbox, type Sandbox } from './server';

export interface SandboxCliOptions {
  host?: string;
  port?: number;
  aclToken?: string;
  allocRunningDelayMs?: number;
  healthyDelayMs?: number;
  claimReleaseDelayMs?: number;
  faults?: Faults;
  nomadVersion?: string;
  drivers?: string[];
  logLevel?: string;
}

/**
 * Entry point for `knot sandbox`: starts the sandbox, logs with pino, and closes it on
 * SIGINT/SIGTERM. Resolves with the running sandbox so callers (e.g. `knot dev`) can embed it.
 */
export async function runSandboxFromCli(opts: SandboxCliOptions = {}): Promise<Sandbox> {
  const logger = pino({ name: 'nomad-sandbox', level: opts.logLevel ?? 'info' });
  const sandbox = await startSandbox({ ...opts, logger });
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'stopping Nomad sandbox');
    sandbox.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, 'Nomad sandbox did not close cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  return sandbox;
}
