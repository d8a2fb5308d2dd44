/**
 * The Containerfiles (the server's, and the Debian space's in images/debian-space): their shape is
 * checked always; the images are really built with buildah (vfs storage, chroot isolation: no
 * daemon, no root-only kernel features) when buildah is installed and the base image can be pulled,
 * or a stand-in for it is given — otherwise each build test skips with one line saying why.
 * KNOT_TEST_NODE_IMAGE names a stand-in in buildah's default vfs storage (e.g. localhost/node:20-slim,
 * a mirror's copy of node:20-slim, which is Debian bookworm like node:20-bookworm-slim) used as
 * NODE_IMAGE instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const containerfile = readFileSync(path.join(ROOT, 'Containerfile'), 'utf8');
const BASE = /^ARG NODE_IMAGE=(\S+)$/m.exec(containerfile)?.[1] ?? '';
const STAND_IN = process.env.KNOT_TEST_NODE_IMAGE ?? '';

describe('Containerfile', () => {
  it('is multi-stage on node:20-slim, runs as a non-root user, enters through `knot`', () => {
    expect(BASE).toMatch(/node:20-slim$/);
    expect(containerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(containerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS build$/m);
    expect(containerfile).toMatch(/^COPY --from=build /m);
    const user = /^USER (\S+)$/m.exec(containerfile)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(containerfile).toMatch(/^ENTRYPOINT \["knot"\]$/m);
    expect(containerfile).toMatch(/^CMD \["server"\]$/m);
  });

  it('checks health with node (the slim image has no curl) on /health', () => {
    const check = /^HEALTHCHECK[\s\S]*?CMD (\[.*\])$/m.exec(containerfile)?.[1];
    expect(check).toBeDefined();
    expect(JSON.parse(check!)[0]).toBe('node');
    expect(containerfile).toMatch(/KNOT_HEALTHCHECK_URL=http:\/\/127\.0\.0\.1:3000\/health/);
    const instructions = containerfile.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
    expect(instructions).not.toMatch(/\bcurl\b|\bwget\b/);
  });

  it('copies every source folder the build compiles, and the ignore files keep the context small', () => {
    const include = (JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include;
    for (const dir of include) expect([dir, containerfile.includes(`COPY ${dir} ./${dir}`)]).toEqual([dir, true]);
    for (const f of ['.containerignore', '.dockerignore']) {
      const lines = readFileSync(path.join(ROOT, f), 'utf8').split('\n');
      for (const must of ['.git', 'node_modules', '.data', '.test-services', 'dist']) expect([f, must, lines.includes(must)]).toEqual([f, must, true]);
    }
  });
});

/** Why the real build from `base` cannot run here, or null when it can. */
function builderUnavailable(base: string): string | null {
  const version = spawnSync('buildah', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return 'buildah is not installed (apt-get install -y buildah)';
  if (STAND_IN) {
    const found = spawnSync('buildah', ['--storage-driver', 'vfs', 'inspect', '--type', 'image', STAND_IN], { encoding: 'utf8' });
    if (found.status === 0) return null;
    const reason = (found.stderr || found.error?.message || '').trim().split('\n').pop() ?? '';
    return `the stand-in base KNOT_TEST_NODE_IMAGE=${STAND_IN} is not in buildah's vfs storage (${reason.slice(0, 160)})`;
  }
  const pull = spawnSync('buildah', ['--storage-driver', 'vfs', 'pull', '--quiet', base], { encoding: 'utf8', timeout: 120_000 });
  if (pull.status !== 0) {
    const reason = (pull.stderr || pull.error?.message || '').trim().split('\n').pop() ?? '';
    return `the base image ${base} cannot be pulled (${reason.slice(0, 160)})`;
  }
  return null;
}

const unavailable = process.env.KNOT_TEST_IMAGE_BUILD === '0' ? 'KNOT_TEST_IMAGE_BUILD=0' : builderUnavailable(BASE);
if (unavailable) console.log(`container image build test skipped: ${unavailable}`);

type Buildah = (...args: string[]) => string;

/**
 * Builds `file` (the repository is the context) in a private vfs storage and hands `check` a
 * buildah bound to that storage and the image's tag; the storage goes afterwards.
 */
function withBuiltImage(file: string, name: string, check: (buildah: Buildah, tag: string) => void): void {
  const root = mkdtempSync(path.join(tmpdir(), 'knot-buildah-'));
  const store = ['--storage-driver', 'vfs', '--root', path.join(root, 'storage'), '--runroot', path.join(root, 'run')];
  const tag = `localhost/${name}:${process.pid}`;
  const baseArgs: string[] = [];
  try {
    if (STAND_IN) {
      // the build's own storage cannot see the default one: carry the stand-in over as an archive
      const archive = path.join(root, 'base.tar');
      execFileSync('buildah', ['--storage-driver', 'vfs', 'push', '--quiet', STAND_IN, `oci-archive:${archive}`], { stdio: 'pipe', timeout: 300_000 });
      const id = execFileSync('buildah', [...store, 'pull', '--quiet', `oci-archive:${archive}`], { encoding: 'utf8', timeout: 300_000 }).trim();
      execFileSync('buildah', [...store, 'tag', id, STAND_IN]);
      rmSync(archive);
      baseArgs.push('--build-arg', `NODE_IMAGE=${STAND_IN}`);
    }
    // docker format: the OCI image config has no HEALTHCHECK, buildah would drop it
    execFileSync('buildah', [...store, 'bud', '--isolation', 'chroot', '--layers=false', '--format', 'docker', ...baseArgs, '-f', file, '-t', tag, '.'], { cwd: ROOT, stdio: 'pipe', timeout: 900_000 });
    check((...args) => execFileSync('buildah', [...store, ...args], { encoding: 'utf8' }), tag);
  } finally {
    spawnSync('buildah', [...store, 'rm', '--all']);
    spawnSync('buildah', [...store, 'rmi', '--all', '--force']);
    rmSync(root, { recursive: true, force: true });
  }
}

(unavailable ? it.skip : it)(
  'builds with buildah (vfs, chroot isolation), and the image runs knot as a non-root user',
  () => {
    withBuiltImage('Containerfile', 'knot-test', (buildah, tag) => {
      const config = JSON.parse(buildah('inspect', '--type', 'image', tag)) as {
        OCIv1: { config: { User: string; Entrypoint: string[]; Cmd: string[] } };
        Docker: { config: { Healthcheck?: { Test: string[] } } };
      };
      expect(config.OCIv1.config.User).toBe('knot:knot');
      expect(config.OCIv1.config.Entrypoint).toEqual(['knot']);
      expect(config.OCIv1.config.Cmd).toEqual(['server']);
      expect(config.Docker.config.Healthcheck?.Test.slice(0, 2)).toEqual(['CMD', 'node']);
      const ctr = buildah('from', tag).trim();
      const help = buildah('run', '--isolation', 'chroot', ctr, '--', 'knot', '--help');
      expect(help).toMatch(/worker/);
      expect(buildah('run', '--isolation', 'chroot', ctr, '--', 'id', '-u').trim()).toBe('10001');
      // the SQLite store in /data as that user: the native better-sqlite3 module loads and /data is writable
      const migrated = buildah('run', '--isolation', 'chroot', ctr, '--', 'knot', 'migrate');
      expect(migrated).toMatch(/"store":"sqlite"/);
    });
  },
  1_000_000,
);

const SPACE = 'images/debian-space';
const spaceFile = readFileSync(path.join(ROOT, SPACE, 'Containerfile'), 'utf8');
const spaceEntrypoint = path.join(ROOT, SPACE, 'entrypoint.sh');
/** the instructions, without comments, continuation lines joined */
const spaceInstructions = spaceFile
  .split('\n')
  .filter((l) => !l.trimStart().startsWith('#'))
  .join('\n')
  .replace(/\\\n/g, ' ');

describe(`${SPACE}/Containerfile (the Debian space)`, () => {
  it('is two stages on node:20-bookworm-slim: the agent bundle built from the sources, then the space', () => {
    expect(/^ARG NODE_IMAGE=(\S+)$/m.exec(spaceFile)?.[1]).toMatch(/node:20-bookworm-slim$/);
    expect(spaceFile.match(/^FROM /gm)).toHaveLength(2);
    expect(spaceFile).toMatch(/^FROM \$\{NODE_IMAGE\} AS agent$/m);
    expect(spaceInstructions).toMatch(/RUN node scripts\/build-agent\.mjs /);
    expect(spaceFile).toMatch(/^COPY --from=agent /m);
    expect(spaceFile).toMatch(/^ENTRYPOINT \[.*"\/usr\/local\/bin\/knot-space-entrypoint"\]$/m);
  });

  it('copies only files that exist and that the ignore files let into the context', () => {
    const ignored = readFileSync(path.join(ROOT, '.containerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    const copies = [...spaceInstructions.matchAll(/^COPY (?!--from=)(.+)$/gm)].map((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
    expect(copies.length).toBeGreaterThan(3);
    for (const sources of copies) {
      for (const src of sources) {
        expect([src, existsSync(path.join(ROOT, src))]).toEqual([src, true]);
        expect([src, ignored.includes(src.split('/')[0]!)]).toEqual([src, false]);
      }
    }
  });

  it('has an entrypoint that sh and bash accept, and verifies TLS everywhere', () => {
    for (const shell of ['sh', 'bash']) {
      const r = spawnSync(shell, ['-n', spaceEntrypoint], { encoding: 'utf8' });
      expect([shell, r.status, r.stderr]).toEqual([shell, 0, '']);
    }
    const entrypoint = readFileSync(spaceEntrypoint, 'utf8');
    expect(entrypoint).toMatch(/exec setpriv --reuid="\$uid" --regid="\$gid" --init-groups/);
    for (const text of [spaceInstructions, entrypoint]) expect(text).not.toMatch(/\s(-k|--insecure|--no-check-certificate)\b|strict-ssl\s*=?\s*false|NODE_TLS_REJECT_UNAUTHORIZED/);
  });
});

(unavailable ? it.skip : it)(
  'builds the Debian space with buildah; its entrypoint makes KNOT_USER and runs the agent as that user',
  () => {
    withBuiltImage(`${SPACE}/Containerfile`, 'knot-space-test', (buildah, tag) => {
      const config = JSON.parse(buildah('inspect', '--type', 'image', tag)) as { OCIv1: { config: { Entrypoint: string[] } } };
      expect(config.OCIv1.config.Entrypoint).toEqual(['/usr/bin/tini', '--', '/usr/local/bin/knot-space-entrypoint']);
      const ctr = buildah('from', tag).trim();
      const run = (...cmd: string[]) => buildah('run', '--isolation', 'chroot', '--env', 'KNOT_USER=alice', ctr, '--', ...cmd);
      // --help: the entrypoint does all its setup, then the agent (as alice) prints its usage and exits
      expect(run('/usr/local/bin/knot-space-entrypoint', '--help')).toMatch(/Usage: knot-agent/);
      expect(run('id', '-u', 'alice').trim()).toBe('1000');
      expect(run('stat', '-c', '%U %a', '/home/alice').trim()).toBe('alice 700');
      expect(run('node', '-e', 'process.stdout.write(process.versions.node.split(".")[0])').trim()).toBe('20');
      expect(run('sh', '-c', 'command -v bash zsh git ssh curl sudo setpriv')).toMatch(/setpriv/);
    });
  },
  1_000_000,
);
