/** The `knot` command. */
import { Command } from 'commander';
import { generateKey } from '../core/crypto';
import { newId } from '../core/names';
import { registerAgentCommand } from './agent-command';
import { loadConfigOrExit } from './config-file';
import { defaultImage, nomadServerJob } from './scaffold';
import { registerClientCommands } from './space-commands';
import { registerAutostartCommand } from './autostart-commands';
import { registerShareCommands } from './share-commands';
import { registerSshKeyCommands } from './ssh-key-commands';
import { registerWebhookCommands } from './webhook-commands';
import { registerSshCommands } from './ssh-commands';
import { registerPortForwardCommand } from './forward-port';

// The server's parts (Temporal, store drivers, Express) load only for the commands that run them:
// `knot forward ssh` is OpenSSH's ProxyCommand and runs on every `ssh`, so it must start fast.
const processes = () => import('./processes');
const services = () => import('./services');

const program = new Command();
program.name('knot').description('Developer environments on Nomad, every lifecycle change a durable Temporal workflow').option('-c, --config <file>', 'knot.yml (default: $KNOT_CONFIG or ./knot.yml)');

function fail(e: unknown): never {
  process.stderr.write(`knot: ${(e as Error).message}\n`);
  process.exit(1);
}

function requireAddresses(cfg: ReturnType<typeof loadConfigOrExit>): { temporalAddress: string; nomadAddr: string } {
  const missing = [
    !cfg.server.temporal.address && 'server.temporal.address (KNOT_SERVER_TEMPORAL_ADDRESS)',
    !cfg.server.nomad.addr && 'server.nomad.addr (KNOT_SERVER_NOMAD_ADDR)',
  ].filter(Boolean);
  if (missing.length) fail(new Error(`missing configuration: ${missing.join(', ')}; 'knot dev' starts both for you`));
  return { temporalAddress: cfg.server.temporal.address, nomadAddr: cfg.server.nomad.addr };
}

async function resolvedAddresses(cfg: ReturnType<typeof loadConfigOrExit>): Promise<{ temporalAddress: string; nomadAddr: string }> {
  const a = requireAddresses(cfg);
  return { ...a, temporalAddress: await (await processes()).resolveTemporalAddress(a.temporalAddress) };
}

program
  .command('dev')
  .description('run the Temporal dev server, the Nomad sandbox, the worker and the API together (embedded defaults)')
  .option('--temporal-port <port>', 'Temporal frontend port', '7233')
  .option('--nomad-port <port>', 'Nomad sandbox port', '4646')
  .action(async (opts: { temporalPort: string; nomadPort: string }) => {
    const cfg = loadConfigOrExit(program.opts<{ config?: string }>().config);
    const p = await processes();
    const logger = p.loggerFor(cfg);
    try {
      const running = await p.startDev(cfg, logger, { temporalPort: Number(opts.temporalPort), nomadPort: Number(opts.nomadPort) });
      // stderr: stdout is the log stream, JSON lines only when it is not a terminal
      process.stderr.write(running.banner);
      p.runUntilSignal(running, logger);
    } catch (e) {
      fail(e);
    }
  });

program
  .command('server')
  .description('run the API server')
  .action(async () => {
    const cfg = loadConfigOrExit(program.opts<{ config?: string }>().config);
    const p = await processes();
    const logger = p.loggerFor(cfg);
    try {
      const running = await p.startApi(cfg, logger, await resolvedAddresses(cfg));
      if (running.bootstrap.generatedToken) process.stderr.write(`Admin token (shown once, keep it): ${running.bootstrap.generatedToken}\n`);
      p.runUntilSignal(running, logger);
    } catch (e) {
      fail(e);
    }
  });

program
  .command('worker')
  .description('run the Temporal worker (lifecycle workflows and activities, schedules)')
  .action(async () => {
    const cfg = loadConfigOrExit(program.opts<{ config?: string }>().config);
    const p = await processes();
    const logger = p.loggerFor(cfg);
    try {
      p.runUntilSignal(await p.startWorker(cfg, logger, await resolvedAddresses(cfg)), logger);
    } catch (e) {
      fail(e);
    }
  });

program
  .command('sandbox')
  .description('run only the Nomad sandbox (a simulated Nomad HTTP API: no workloads run)')
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--port <port>', 'port', '4646')
  .option('--latency-ms <ms>', 'added latency per call', '0')
  .option('--alloc-running-ms <ms>', 'allocation pending → running delay', '300')
  .option('--nomad-version <version>', 'Nomad version to emulate (host volumes exist from 1.10)', '1.10.0')
  .option('--drivers <list>', 'comma-separated task drivers of the simulated node', 'docker,exec,raw_exec')
  .action(async (opts: { host: string; port: string; latencyMs: string; allocRunningMs: string; nomadVersion: string; drivers: string }) => {
    const { runSandboxFromCli } = await import('../nomad/sandbox');
    await runSandboxFromCli({
      host: opts.host,
      port: Number(opts.port),
      allocRunningDelayMs: Number(opts.allocRunningMs),
      faults: { latencyMs: Number(opts.latencyMs) },
      nomadVersion: opts.nomadVersion,
      drivers: opts.drivers.split(',').map((d) => d.trim()).filter(Boolean),
    }).catch(fail);
  });

program
  .command('migrate')
  .description('apply the store migrations (done automatically at start), or roll them back')
  .option('--down', 'roll back every migration (drops all tables)')
  .action(async (opts: { down?: boolean }) => {
    const cfg = loadConfigOrExit(program.opts<{ config?: string }>().config);
    const p = await processes();
    const logger = p.loggerFor(cfg);
    try {
      const { store, redis } = await (await services()).openStoreAndRedis(cfg, logger);
      if (opts.down) await store.migrateDown();
      await store.close();
      await redis?.quit();
      process.stdout.write(opts.down ? 'migrations rolled back\n' : 'store is up to date\n');
    } catch (e) {
      fail(e);
    }
  });

program
  .command('genkey')
  .description('print a new encryption key for server.encrypt')
  .action(() => {
    process.stdout.write(`${generateKey()}\n`);
  });

program
  .command('scaffold')
  .description('print example deployment files')
  .option('--nomad', 'a Nomad job deploying the knot server and worker')
  .option('--image <image>', `the knot image to deploy (default ${defaultImage()})`)
  .option('--server-count <n>', 'API instances (docs/scaling.md)', '2')
  .option('--worker-count <n>', 'worker instances (docs/scaling.md)', '2')
  .action((opts: { nomad?: boolean; image?: string; serverCount: string; workerCount: string }) => {
    if (!opts.nomad) fail(new Error('choose what to scaffold: --nomad'));
    const count = (v: string, flag: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100) fail(new Error(`${flag} must be a whole number from 1 to 100`));
      return n;
    };
    process.stdout.write(nomadServerJob({ ...(opts.image ? { image: opts.image } : {}), serverCount: count(opts.serverCount, '--server-count'), workerCount: count(opts.workerCount, '--worker-count') }));
  });

const admin = program.command('admin').description('administration straight against the store');
admin
  .command('token')
  .description('issue a new API token for a user (printed once)')
  .requiredOption('--user <username>', 'the user')
  .option('--name <name>', 'token name', 'cli')
  .action(async (opts: { user: string; name: string }) => {
    const cfg = loadConfigOrExit(program.opts<{ config?: string }>().config);
    const p = await processes();
    const logger = p.loggerFor(cfg);
    try {
      const { store, redis } = await (await services()).openStoreAndRedis(cfg, logger);
      const { issueToken } = await import('../api/auth');
      const user = await store.users.getByUsername(opts.user.toLowerCase());
      if (!user) fail(new Error(`no user named '${opts.user}'`));
      const { secret } = await issueToken(store, { id: newId(Date.now()), userId: user.id, name: opts.name, expiresAt: null }, Date.now());
      await store.close();
      await redis?.quit();
      process.stdout.write(`${secret}\n`);
    } catch (e) {
      fail(e);
    }
  });

registerClientCommands(program);
registerShareCommands(program.commands.find((c) => c.name() === 'space')!);
registerAutostartCommand(program.commands.find((c) => c.name() === 'space')!);
registerSshKeyCommands(program);
registerWebhookCommands(program);
registerSshCommands(program);
registerPortForwardCommand(program);
registerAgentCommand(program);

program.parseAsync(process.argv).catch(fail);
