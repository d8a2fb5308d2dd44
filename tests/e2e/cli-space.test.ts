/**
 * The `knot` client CLI, spawned as a user would run it (`node dist/cli/main.js space …`) against
 * a real API + worker + Temporal + Nomad sandbox: the seed scenario with live steps, not found,
 * and a hanging start interrupted with Ctrl-C (SIGINT) and cancelled — via the flag and by
 * answering the prompt on stdin — leaving no job or volume; `space autostart` set, refused and off;
 * `space show` with a dormant space's deletion time and its dormancy exemption.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedJob, seedVolumes, startHarness as startBackend, type Harness as Backend } from '../support/harness';
import { startHarness as startApi, type Harness as Api } from '../integration/api/harness';

const CLI = path.resolve(__dirname, '../../dist/cli/main.js');

interface Run {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  done: Promise<number>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

describe('knot space CLI on sqlite', () => {
  let backend: Backend;
  let api: Api;
  let env: NodeJS.ProcessEnv;
  let home: string;

  const knot = (...args: string[]): Run => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: 'pipe' });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    return {
      child,
      out: () => out,
      err: () => err,
      done,
      async waitFor(re, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        while (!re.test(out + err)) {
          if (Date.now() > deadline) throw new Error(`no ${re} in output:\n${out}\n${err}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
    };
  };
  const ok = async (...args: string[]) => {
    const r = knot(...args);
    const code = await r.done;
    if (code !== 0) throw new Error(`knot ${args.join(' ')} exited ${code}:\n${r.out()}\n${r.err()}`);
    return r.out();
  };

  beforeAll(async () => {
    backend = await startBackend('sqlite');
    api = await startApi('sqlite', { backend: { store: backend.store, sandboxUrl: backend.sandbox.url, lifecycle: backend.lifecycle }, config: { KNOT_ENCRYPT: backend.deps.settings.encryptKey } });
    await api.client.createTemplate({ name: 'example', description: 'seed 000', job: seedJob(), volumes: seedVolumes() });
    const { token } = await api.user('alice');
    home = mkdtempSync(path.join(os.tmpdir(), 'knot-cli-'));
    env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), NO_COLOR: '1' };
    // knot login saves URL and token with mode 0600; the later calls use the saved login
    const login = await ok('login', '--url', api.url, '--token', token);
    expect(login).toContain('logged in');
    expect(statSync(path.join(home, '.config/knot/config.json')).mode & 0o777).toBe(0o600);
  });
  afterAll(async () => {
    await api?.close();
    await backend?.close();
    rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  });

  it('create → start → stop → delete with live steps and durations', async () => {
    expect(await ok('space', 'create', 'mytest', '--template', 'example')).toContain('created space mytest');
    const id = (JSON.parse(await ok('space', 'show', 'mytest', '--json')) as { id: string }).id;

    const start = await ok('space', 'start', 'mytest');
    // every step with its duration, in order, then the final phase
    const lines = start.split('\n').filter((l) => l.startsWith('✓'));
    expect(lines.map((l) => l.replace(/\s+\d+(\.\d+)? (ms|s)$/, ''))).toEqual([
      '✓ planning',
      `✓ creating volume debian_${id}_home`,
      '✓ registering job',
      '✓ waiting for the allocation to be healthy',
      '✓ recording',
    ]);
    for (const l of lines) expect(l).toMatch(/\d+(\.\d+)? (ms|s)$/);
    expect(start).toMatch(/start succeeded.*space mytest is running/);
    // no colour codes or spinner frames when piped
    expect(start).not.toContain(String.fromCharCode(27));

    const list = JSON.parse(await ok('space', 'list', '--json')) as { name: string; status: { phase: string } }[];
    expect(list.map((s) => [s.name, s.status.phase])).toEqual([['mytest', 'running']]);
    expect(await ok('space', 'list')).toMatch(/mytest\s+alice\s+example\s+1\.0\.0\s+running/);

    const stop = await ok('space', 'stop', 'mytest');
    expect(stop).toMatch(/✓ stopping the job/);
    expect(stop).toMatch(/space mytest is stopped/);

    const noWait = JSON.parse(await ok('space', 'start', 'mytest', '--no-wait', '--json')) as { operation: { id: string; type: string } };
    expect(noWait.operation.type).toBe('start');
    const ops = JSON.parse(await ok('space', 'ops', 'mytest', '--json')) as { items: { id: string }[] };
    expect(ops.items[0]!.id).toBe(noWait.operation.id);
    // let it finish, then stop and delete
    await waitUntil(async () => (await api.client.getOperation(noWait.operation.id)).status === 'succeeded');
    await ok('space', 'stop', 'mytest');

    const refused = knot('space', 'delete', 'mytest');
    expect(await refused.done).not.toBe(0);
    expect(refused.err()).toContain('--yes');
    const del = await ok('space', 'delete', 'mytest', '--yes');
    expect(del).toMatch(/✓ deleting volume debian_/);
    expect(del).toMatch(/delete succeeded/);
    expect(backend.sandbox.state().jobs.filter((j) => j.Meta?.knot_space_id === id)).toEqual([]);
    expect(backend.sandbox.state().csiVolumes.filter((v) => v.ID.includes(id))).toEqual([]);
  });

  it('an unknown space is a clear "not found" and a non-zero exit', async () => {
    const r = knot('space', 'start', 'nope');
    expect(await r.done).not.toBe(0);
    expect(r.err()).toContain("space 'nope' not found");
    expect(r.err()).not.toMatch(/at .*\.js:\d+/);
  });

  it('space autostart sets, refuses outside the schedule (the server\'s message, non-zero) and turns off; show prints it', async () => {
    const weekdays = { from: '08:00', to: '18:00' };
    await api.client.createTemplate({ name: 'office', description: 'seed 000', job: seedJob(), volumes: seedVolumes(), schedule: { mon: [weekdays], tue: [weekdays], wed: [weekdays], thu: [weekdays], fri: [weekdays] } });
    await ok('space', 'create', 'desk', '--template', 'office');
    const id = (JSON.parse(await ok('space', 'show', 'desk', '--json')) as { id: string }).id;

    const set = await ok('space', 'autostart', 'desk', '--days', 'mon,tue,wed,thu,fri', '--at', '09:00');
    expect(set).toMatch(/desk starts mon,tue,wed,thu,fri at 09:00 \(the owner's time zone\); next \d{4}-\d\d-\d\dT09:00:00\.000Z/);
    const shown = await api.client.getSpace(id);
    expect(shown.autostart).toEqual({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], at: '09:00' });
    // a setting, not the spec: no operation beyond the create
    expect((await api.client.spaceOperations(id)).items.map((o) => o.type)).toEqual(['create']);
    const show = await ok('space', 'show', 'desk');
    expect(show).toMatch(/autostart\s+mon,tue,wed,thu,fri at 09:00 \(the owner's time zone\)/);
    expect(show).toMatch(new RegExp(`next autostart\\s+${shown.status.nextAutostartAt!.replace(/\./g, '\\.')}\n`));

    // the owner (alice) lives in UTC: 10:00 in Paris is 08:00 or 09:00 UTC, inside the windows
    expect(await ok('space', 'autostart', 'desk', '--days', 'tue', '--at', '10:00', '--tz', 'Europe/Paris')).toContain('tue at 10:00 (Europe/Paris)');

    const refused = knot('space', 'autostart', 'desk', '--days', 'mon', '--at', '07:00');
    expect(await refused.done).toBe(1);
    expect(refused.err()).toMatch(/autostart\.at: .*07:00 on mon .*outside the template's schedule/);
    expect(refused.err()).not.toMatch(/at .*\.js:\d+/);
    expect((await api.client.getSpace(id)).autostart).toEqual({ days: ['tue'], at: '10:00', timezone: 'Europe/Paris' });

    expect(await ok('space', 'autostart', 'desk', '--off')).toContain('autostart of desk turned off');
    expect((await api.client.getSpace(id)).autostart).toBeNull();
    expect(await ok('space', 'show', 'desk')).toMatch(/autostart\s+off\n.*next autostart\s+-/);
  });

  it('space show prints when a dormant space is deleted and whether an admin exempted it', async () => {
    await api.client.createTemplate({ name: 'dormant', description: 'seed 000', job: seedJob(), volumes: seedVolumes(), deleteAfter: '720h' });
    await ok('space', 'create', 'idle', '--template', 'dormant');
    const before = await api.client.getSpace((JSON.parse(await ok('space', 'show', 'idle', '--json')) as { id: string }).id);
    expect(before.status.deletesAt).toMatch(/^\d{4}-/);
    const show = await ok('space', 'show', 'idle');
    expect(show).toMatch(new RegExp(`deletes at\\s+${before.status.deletesAt!.replace(/\./g, '\\.')} \\(if unused until then\\)\n`));
    expect(show).toMatch(/dormancy exempt\s+no\n/);

    // an admin's setting (api.client is the bootstrap admin): no deletion time any more
    await api.client.updateSpace(before.id, { dormancyExempt: true });
    const exempt = await ok('space', 'show', 'idle');
    expect(exempt).toMatch(/dormancy exempt\s+yes\n/);
    expect(exempt).not.toMatch(/deletes at/);
    // a space of a template without deleteAfter: never deleted, not exempt
    expect(await ok('space', 'show', 'desk')).toMatch(/dormancy exempt\s+no/);
  });

  it.each([
    ['the --on-interrupt flag', ['--on-interrupt', 'cancel'], null],
    ['the answer to the prompt', [], 'c\n'],
  ])('Ctrl-C on a hanging start cancels it (%s): no job, no volume left', async (_what, flags, answer) => {
    const name = answer ? 'stuck2' : 'stuck1';
    await ok('space', 'create', name, '--template', 'example');
    const id = JSON.parse(await ok('space', 'show', name, '--json')).id as string;
    backend.sandbox.setFaults({ pendingAllocations: `^${name}-alice$` });
    try {
      const run = knot('space', 'start', name, ...flags);
      await run.waitFor(/✓ registering job/);
      run.child.kill('SIGINT');
      if (answer) {
        await run.waitFor(/\[c\]ancel \/ \[d\]etach/);
        run.child.stdin.write(answer);
      }
      const code = await run.done;
      expect(run.out()).toMatch(/cancelling operation/);
      expect(run.out()).toMatch(/compensating: stopping the job/);
      expect(run.err()).toMatch(/start cancelled: the operation was cancelled/);
      expect(code).toBe(130);
      const state = backend.sandbox.state();
      expect(state.jobs.filter((j) => j.ID === `${name}-alice` && !j.Stop)).toEqual([]);
      expect(state.csiVolumes.filter((v) => v.ID.includes(id))).toEqual([]);
      expect((await api.client.getSpace(id)).status.phase).toBe('stopped');
    } finally {
      backend.sandbox.setFaults({});
    }
  });
});

async function waitUntil(pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}
