/**
 * The client verbs: `knot login`, `knot space …`, `knot template …`, all on the typed client.
 * Lifecycle verbs wait by default, following the operation's steps live.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { KnotApiError, KnotClient, KnotConnectionError, type OperationDetail, type Space, type TemplateInput } from '../client';
import { TEMPLATE_FILE_FIELDS, templateFileReference } from '../core/template-file';
import { resolveClientConfig, saveClientConfig } from './client-config';
import { OperationFollower, type InterruptChoice } from './follow';
import { createUi, formatMs, table, type Ui } from './terminal';

interface Common {
  json?: boolean;
}
interface WaitOpts extends Common {
  wait: boolean;
  onInterrupt: InterruptChoice;
}

export function clientOf(): KnotClient {
  return new KnotClient(resolveClientConfig());
}

/** Errors as one clear line and a non-zero exit; never a stack trace. */
function failWith(ui: Ui, e: unknown): never {
  if (e instanceof KnotApiError) {
    const fields = e.errors.map((f) => `\n  ${f.path}: ${f.message}`).join('');
    ui.error(`knot: ${e.detail}${fields}`);
    process.exit(e.status === 404 ? 4 : 1);
  }
  if (e instanceof KnotConnectionError) ui.error(`knot: ${e.message}`);
  else ui.error(`knot: ${(e as Error).message ?? String(e)}`);
  process.exit(1);
}

/** A command's action: its Ui (--json aware), and any error as one line and a non-zero exit. */
export function action<A extends unknown[]>(fn: (ui: Ui, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    const opts = args.find((a): a is Common => typeof a === 'object' && a !== null && !Array.isArray(a) && 'json' in (a as object)) ?? {};
    const ui = createUi({ json: Boolean((opts as Common).json) });
    try {
      await fn(ui, ...args);
    } catch (e) {
      failWith(ui, e);
    }
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export async function findSpace(client: KnotClient, name: string): Promise<Space> {
  try {
    return await client.getSpace(name);
  } catch (e) {
    if (e instanceof KnotApiError && e.status === 404) throw new KnotApiError(404, { ...e.problem, detail: `space '${name}' not found` });
    throw e;
  }
}

function describeEnd(ui: Ui, op: OperationDetail, space: Space | null): void {
  const { c } = ui;
  const took = op.startedAt && op.finishedAt ? `  ${c.dim(formatMs(Date.parse(op.finishedAt) - Date.parse(op.startedAt)))}` : '';
  if (op.status === 'succeeded') {
    ui.line(`${c.bold(op.type)} ${c.green('succeeded')}${took}${space ? `: space ${space.name} is ${c.bold(space.status.phase)}` : op.type === 'delete' ? ': space deleted' : ''}`);
  } else {
    const reason = op.error ? `${op.error.message} (${op.error.type})` : op.status;
    ui.error(`${op.type} ${op.status === 'cancelled' ? c.yellow('cancelled') : c.red('failed')}: ${reason}${space ? `; space ${space.name} is ${space.status.phase}` : ''}`);
  }
}

/** Starts an operation and, unless --no-wait, follows it to the end. */
async function runLifecycle(ui: Ui, name: string, opts: WaitOpts, start: (client: KnotClient, space: Space) => Promise<{ operation: { id: string } }>): Promise<void> {
  const client = clientOf();
  const space = await findSpace(client, name);
  const follower = opts.wait ? new OperationFollower(client, ui) : null;
  try {
    await follower?.ready();
    const { operation } = await start(client, space);
    if (!follower) {
      if (ui.json) printJson({ operation });
      else ui.line(operation.id);
      return;
    }
    if (!ui.json) ui.line(ui.c.dim(`operation ${operation.id}`));
    const { operation: op, detached } = await follower.follow(operation.id, opts.onInterrupt);
    const after = await client.getSpace(space.id).catch(() => null);
    if (ui.json) printJson({ operation: op, space: after, detached });
    else if (detached) ui.line(`detached; operation ${op.id} is ${op.status} (follow it with 'knot space ops ${name}')`);
    else describeEnd(ui, op, after);
    if (!detached && op.status !== 'succeeded') process.exitCode = op.status === 'cancelled' ? 130 : 1;
  } finally {
    follower?.close();
  }
}

/** The agent's link as `space show` tells it: state, since when, version, open sessions. */
export function agentLine(a: Space['status']['agent']): string {
  const since = a.since ? ` since ${a.since}` : '';
  const extra = a.state === 'connected' ? ` (agent ${a.version ?? '?'}, ${a.sessions} session${a.sessions === 1 ? '' : 's'})` : '';
  const hint = a.state === 'timeout' ? ' — the agent has not linked; can the space reach the server URL?' : '';
  return `${a.state}${since}${extra}${hint}`;
}

/** "mon,tue at 09:00 (Europe/Paris)", or "off". */
export function autostartLine(s: Space): string {
  const a = s.autostart;
  if (!a) return 'off';
  return `${a.days.join(',')} at ${a.at} (${a.timezone ?? "the owner's time zone"})`;
}

/** What the agent offers (icons in the web UI): terminal, ssh, code-server, ports. */
export function servicesLine(a: Space['status']['agent']): string {
  if (a.state !== 'connected') return '-';
  const s = a.services;
  const names = [s.terminal ? 'terminal' : null, s.ssh ? 'ssh' : null, s.codeServer ? 'code-server' : null, s.ports?.length ? `ports ${s.ports.join(', ')}` : null].filter(Boolean);
  return names.join(', ') || 'none';
}

/** The shell line that runs a manual space's agent (values single-quoted: a URL may hold `&`). */
export function agentCommandLine(serverUrl: string, spaceId: string, token: string): string {
  const q = (v: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  return `KNOT_SERVER=${q(serverUrl)} KNOT_SPACEID=${q(spaceId)} KNOT_AGENT_TOKEN=${q(token)} knot agent`;
}

function parseParams(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const i = p.indexOf('=');
    if (i <= 0) throw new Error(`--param ${p}: expected name=value`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function spaceRows(spaces: Space[]): string[][] {
  return [['NAME', 'OWNER', 'TEMPLATE', 'VERSION', 'PHASE', 'UPDATE'], ...spaces.map((s) => [s.name, s.owner, s.template, s.status.appliedVersion ?? '-', s.status.phase, s.status.updateAvailable ? 'yes' : ''])];
}

/** A template file: YAML or JSON with the template's fields (name, job, volumes, …). */
async function readTemplateFile(file: string): Promise<TemplateInput> {
  const text = readFileSync(file, 'utf8');
  const { parse } = await import('yaml');
  const doc = (file.endsWith('.json') ? JSON.parse(text) : parse(text)) as Record<string, unknown>;
  if (!doc || typeof doc !== 'object') throw new Error(`${file}: not a template document`);
  // `job: ./job.nomad.hcl` style references are read relative to the file
  for (const key of TEMPLATE_FILE_FIELDS) {
    const ref = templateFileReference(doc[key]);
    if (ref) doc[key] = readFileSync(path.resolve(path.dirname(file), ref), 'utf8');
  }
  return doc as TemplateInput;
}

export function registerClientCommands(program: Command): void {
  program
    .command('login')
    .description('save the server URL and an API token for the client verbs (to $XDG_CONFIG_HOME/knot/config.json, mode 0600)')
    .requiredOption('--url <url>', 'the knot server, e.g. http://127.0.0.1:3000')
    .option('--token <token>', 'API token (default: $KNOT_TOKEN, else asked for)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, opts: { url: string; token?: string; json?: boolean }) => {
        let token = opts.token ?? process.env.KNOT_TOKEN;
        if (!token) {
          const { password } = await import('@inquirer/prompts');
          token = await password({ message: 'API token:' });
        }
        const me = await new KnotClient({ url: opts.url, token }).whoami();
        const file = saveClientConfig({ url: opts.url, token });
        if (ui.json) printJson({ url: opts.url, user: me.user.username, file });
        else ui.line(`logged in to ${opts.url} as ${me.user.username} (saved to ${file})`);
      }),
    );

  program
    .command('usage [user]')
    .description("quota usage against the effective limits (yours; admins: any user's)")
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, user: string | undefined) => {
        const usage = await clientOf().userUsage(user ?? 'me');
        if (ui.json) printJson(usage);
        else ui.line(table([['QUOTA', 'USED', 'LIMIT', 'FROM'], ...usage.items.map((i) => [i.quota, String(i.usage), i.limit === null ? '-' : String(i.limit), i.source ?? '-'])]));
      }),
    );

  const space = program.command('space').description('your spaces: list, create, start, stop, restart, update, delete, show, ops, agent-token, autostart, share, shares, unshare, transfer');
  const waitOptions = (c: Command) =>
    c
      .option('--no-wait', 'return at once with the operation id')
      .option('--on-interrupt <choice>', 'Ctrl-C while waiting: ask | cancel | detach', 'ask')
      .option('--json', 'machine-readable output');

  space
    .command('list')
    .description('list spaces (yours; admins: all)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui) => {
        const spaces = await clientOf().listAllSpaces();
        if (ui.json) printJson(spaces);
        else ui.line(spaces.length ? table(spaceRows(spaces)) : 'no spaces');
      }),
    );

  space
    .command('create <name>')
    .description('create a space (validated and rendered; nothing runs until you start it)')
    .requiredOption('--template <template>', 'template name')
    .option('--version <version>', 'template version: exact, pattern (1.x.x) or latest')
    .option('--shell <shell>', 'bash, zsh, fish or sh')
    .option('--param <name=value>', 'a parameter value (repeatable)', collect, [])
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string, opts: { template: string; version?: string; shell?: string; param: string[] }) => {
        const created = await clientOf().createSpace({
          name,
          template: opts.template,
          ...(opts.version ? { templateVersion: opts.version } : {}),
          ...(opts.shell ? { shell: opts.shell as 'bash' } : {}),
          ...(opts.param.length ? { parameters: parseParams(opts.param) } : {}),
        });
        if (ui.json) printJson(created);
        else ui.line(`${ui.c.green('✓')} created space ${created.name} (${created.template}, ${created.status.phase}); start it with 'knot space start ${created.name}'`);
      }),
    );

  for (const verb of ['start', 'stop', 'restart', 'update'] as const) {
    waitOptions(space.command(`${verb} <name>`).description(verb === 'update' ? 'apply the newest matching template version' : `${verb} the space`)).action(
      action(async (ui, name: string, opts: WaitOpts) => {
        await runLifecycle(ui, name, opts, (client, s) => client.spaceAction(s.id, verb));
      }),
    );
  }

  waitOptions(space.command('delete <name>').description('delete a stopped space and its volumes (their data is lost)').option('-y, --yes', 'do not ask for confirmation')).action(
    action(async (ui, name: string, opts: WaitOpts & { yes?: boolean }) => {
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw new Error(`deleting '${name}' removes its volumes and their data; confirm with --yes`);
        const { confirm } = await import('@inquirer/prompts');
        if (!(await confirm({ message: `Delete space ${name} and all its volumes?`, default: false }))) throw new Error('not deleted');
      }
      await runLifecycle(ui, name, opts, (client, s) => client.deleteSpace(s.id));
    }),
  );

  space
    .command('show <name>')
    .description('one space in detail')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string) => {
        const s = await findSpace(clientOf(), name);
        if (ui.json) return printJson(s);
        const st = s.status;
        ui.line(
          table([
            ['name', s.name],
            ['id', s.id],
            ['owner', s.owner],
            ['template', `${s.template} ${s.templateVersion || 'latest'} (applied ${st.appliedVersion ?? '-'})${st.updateAvailable ? ' — update available' : ''}`],
            ['phase', `${st.phase}${st.reason ? ` (${st.reason}${st.message ? `: ${st.message}` : ''})` : ''}`],
            ['shell', s.shell],
            ['agent', agentLine(st.agent)],
            ['services', servicesLine(st.agent)],
            ['nomad job', st.nomadJobId ?? '-'],
            ['volumes', st.volumes.map((v) => v.id).join(', ') || '-'],
            ['autostart', autostartLine(s)],
            ['next autostart', st.nextAutostartAt ?? '-'],
            ...(st.deletesAt ? [['deletes at', `${st.deletesAt} (if unused until then)`] as [string, string]] : []),
            ['dormancy exempt', s.dormancyExempt ? 'yes' : 'no'],
            ['last operation', st.lastOperation ? `${st.lastOperation.type} ${st.lastOperation.status} (${st.lastOperation.id})` : '-'],
          ]),
        );
      }),
    );

  space
    .command('agent-token <name>')
    .description('issue the agent token of a manual space (replaces the last one; shown once) and print how to run its agent')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string) => {
        const config = resolveClientConfig();
        const client = new KnotClient(config);
        const s = await findSpace(client, name);
        const issued = await client.issueAgentToken(s.id);
        if (ui.json) return printJson(issued);
        ui.line(issued.token);
        ui.line('');
        ui.line('Run the agent where the space lives (this token is not shown again; a new one replaces it):');
        ui.line(`  ${agentCommandLine(config.url, issued.spaceId, issued.token)}`);
      }),
    );

  space
    .command('ops <name>')
    .description("a space's operations, newest first, the latest with its steps")
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string) => {
        const client = clientOf();
        const s = await findSpace(client, name);
        const ops = (await client.spaceOperations(s.id)).items;
        const latest = ops[0] ? await client.getOperation(ops[0].id) : null;
        if (ui.json) return printJson({ items: ops, latest });
        ui.line(table([['ID', 'TYPE', 'STATUS', 'CREATED', 'ERROR'], ...ops.map((o) => [o.id, o.type, o.status, o.createdAt, o.error?.message ?? ''])]));
        if (latest) {
          ui.line('');
          for (const st of latest.steps) ui.line(`${st.outcome === 'succeeded' ? '✓' : st.outcome === 'running' ? '…' : '✗'} ${st.name}  ${formatMs(st.durationMs)}${st.outcome !== 'succeeded' && st.outcome !== 'running' ? ` (${st.outcome})` : ''}`);
        }
      }),
    );

  const template = program.command('template').description('templates: list, push, validate, versions');
  template
    .command('list')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui) => {
        const items = (await clientOf().listTemplates()).items;
        if (ui.json) return printJson(items);
        ui.line(items.length ? table([['NAME', 'VERSION', 'TYPE', 'DESCRIPTION'], ...items.map((t) => [t.name, t.version, t.type, t.description])]) : 'no templates');
      }),
    );
  template
    .command('push <files...>')
    .description('create or update templates from YAML/JSON files (a new version only when the content changed)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, files: string[]) => {
        const client = clientOf();
        const results = [];
        for (const file of files) {
          const input = await readTemplateFile(file);
          const exists = await client.getTemplate(input.name).then(
            () => true,
            (e: unknown) => {
              if (e instanceof KnotApiError && e.status === 404) return false;
              throw e;
            },
          );
          if (exists) {
            const { template: t, versionCreated } = await client.replaceTemplate(input.name, input);
            results.push({ name: t.name, version: t.version, created: versionCreated !== null });
            if (!ui.json) ui.line(versionCreated ? `${ui.c.green('✓')} ${t.name}: new version ${versionCreated}` : `${t.name}: unchanged (${t.version})`);
          } else {
            const t = await client.createTemplate(input);
            results.push({ name: t.name, version: t.version, created: true });
            if (!ui.json) ui.line(`${ui.c.green('✓')} ${t.name}: created ${t.version}`);
          }
        }
        if (ui.json) printJson(results);
      }),
    );
  template
    .command('validate <files...>')
    .description('check templates (render, Nomad parse) without saving them')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, files: string[]) => {
        const client = clientOf();
        const results = [];
        for (const file of files) {
          const r = await client.validateTemplate((await readTemplateFile(file)) as Record<string, unknown>);
          results.push({ file, ...r });
          if (!ui.json) ui.line(r.valid ? `${ui.c.green('✓')} ${file}: valid` : `${ui.c.red('✗')} ${file}:\n${r.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`);
        }
        if (ui.json) printJson(results);
        if (results.some((r) => !r.valid)) process.exitCode = 1;
      }),
    );
  template
    .command('versions <name>')
    .option('--json', 'machine-readable output')
    .action(
      action(async (ui, name: string) => {
        const items = (await clientOf().templateVersions(name)).items;
        if (ui.json) return printJson(items.map(({ content: _c, ...v }) => v));
        ui.line(table([['VERSION', 'CREATED', 'HASH'], ...items.map((v) => [v.version, v.createdAt, v.contentHash.slice(0, 12)])]));
      }),
    );
}
