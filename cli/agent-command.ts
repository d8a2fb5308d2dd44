/** `knot agent`: runs inside a space as its user, dials the server and serves the space over the link. */
import type { Command } from 'commander';
import { startAgent } from '../agent/agent';
import { AgentConfigError, parseAgentConfig, type AgentFlags } from '../agent/config';
import { createAgentLogger } from '../agent/logger';

/** How long a stop may take before the process exits regardless. */
const STOP_GRACE_MS = 2_000;

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('run the space agent (inside a space): dials the knot server and serves terminals and state over the link')
    .option('--server <url>', 'the knot server URL (KNOT_SERVER)')
    .option('--space-id <id>', 'the space id (KNOT_SPACEID)')
    .option('--token <token>', 'the space agent token (KNOT_AGENT_TOKEN; prefer the variable: flags show in ps)')
    .option('--user <name>', 'the user the agent should run as (KNOT_USER)')
    .option('--ssh-port <port>', 'SSH port inside the space (KNOT_SSH_PORT)')
    .option('--http-port <ports>', 'HTTP ports, "80,8080" or "80=web" (KNOT_HTTP_PORT)')
    .option('--tcp-port <ports>', 'TCP ports, "5432" or "5432=db" (KNOT_TCP_PORT)')
    .option('--code-server-port <port>', 'code-server port (KNOT_CODE_SERVER_PORT)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (KNOT_LOGLEVEL)')
    .option('--ping-port <port>', 'health check port; 0 = any, off = none (KNOT_AGENT_PORT, default $NOMAD_PORT_knot_port or 3000)')
    .option('--terminal-keep <seconds>', 'keep a terminal this long after its last viewer leaves (KNOT_TERMINAL_KEEP_SECONDS, default 300)')
    .action(async (flags: AgentFlags) => {
      let config;
      try {
        config = parseAgentConfig(process.env, flags);
      } catch (e) {
        if (!(e instanceof AgentConfigError)) throw e;
        process.stderr.write(`knot agent: ${e.message}\n`);
        process.exit(e.exitCode);
      }
      const logger = createAgentLogger(config.logLevel);
      // handlers first: Nomad may kill a task that has only just started
      let stopping = false;
      let started: Promise<Awaited<ReturnType<typeof startAgent>> | null> = Promise.resolve(null);
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) process.exit(130); // a second signal: out now
        stopping = true;
        logger.info({ signal }, 'stopping');
        setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
        started
          .then((agent) => agent?.stop())
          .then(
            () => process.exit(0),
            (e: unknown) => {
              logger.error({ err: e }, 'stop failed');
              process.exit(1);
            },
          );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      started = startAgent(config, logger);
      try {
        await started;
      } catch (e) {
        logger.fatal({ err: e }, 'agent failed to start');
        process.exit(1);
      }
    });
}
