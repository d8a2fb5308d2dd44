/**
 * The Containerfile: its shape is checked always; the image is really built with buildah (vfs
 * storage, chroot isolation: no daemon, no root-only kernel features) when buildah is installed
 * and the base image can be pulled, or a stand-in for it is given — otherwise the build test skips
 * with one line saying why. KNOT_TEST_NODE_IMAGE names a stand-in in buildah's default vfs storage
 * (e.g. localhost/node:20-slim, a mirror's copy of node:20-slim) used as NODE_IMAGE instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/** Why the real build cannot run here, or null when it can. */
function builderUnavailable(): string | null {
  const version = spawnSync('buildah', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return 'buildah is not installed (apt-get install -y buildah)';
  if (STAND_IN) {
    const found = spawnSync('buildah', ['--storage-driver', 'vfs', 'inspect', '--type', 'image', STAND_IN], { encoding: 'utf8' });
    if (found.status === 0) return null;
    const reason = (found.stderr || found.error?.message || '').trim().split('\n').pop() ?? '';
    return `the stand-in base KNOT_TEST_NODE_IMAGE=${STAND_IN} is not in buildah's vfs storage (${reason.slice(0, 160)})`;
  }
  const pull = spawnSync('buildah', ['--storage-driver', 'vfs', 'pull', '--quiet', BASE], { encoding: 'utf8', timeout: 120_000 });
  if (pull.status !== 0) {
    const reason = (pull.stderr || pull.error?.message || '').trim().split('\n').pop() ?? '';
    return `the base image ${BASE} cannot be pulled (${reason.slice(0, 160)})`;
  }
  return null;
}

const unavailable = process.env.KNOT_TEST_IMAGE_BUILD === '0' ? 'KNOT_TEST_IMAGE_BUILD=0' : builderUnavailable();
if (unavailable) console.log(`container image build test skipped: ${unavailable}`);

(unavailable ? it.skip : it)(
  'builds with buildah (vfs, chroot isolation), and the image runs knot as a non-root user',
  () => {
    const root = mkdtempSync(path.join(tmpdir(), 'knot-buildah-'));
    const store = ['--storage-driver', 'vfs', '--root', path.join(root, 'storage'), '--runroot', path.join(root, 'run')];
    const tag = `localhost/knot-test:${process.pid}`;
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
      execFileSync('buildah', [...store, 'bud', '--isolation', 'chroot', '--layers=false', '--format', 'docker', ...baseArgs, '-f', 'Containerfile', '-t', tag, '.'], { cwd: ROOT, stdio: 'pipe', timeout: 900_000 });
      const config = JSON.parse(execFileSync('buildah', [...store, 'inspect', '--type', 'image', tag], { encoding: 'utf8' })) as {
        OCIv1: { config: { User: string; Entrypoint: string[]; Cmd: string[] } };
        Docker: { config: { Healthcheck?: { Test: string[] } } };
      };
      expect(config.OCIv1.config.User).toBe('knot:knot');
      expect(config.OCIv1.config.Entrypoint).toEqual(['knot']);
      expect(config.OCIv1.config.Cmd).toEqual(['server']);
      expect(config.Docker.config.Healthcheck?.Test.slice(0, 2)).toEqual(['CMD', 'node']);
      const ctr = execFileSync('buildah', [...store, 'from', tag], { encoding: 'utf8' }).trim();
      const help = execFileSync('buildah', [...store, 'run', '--isolation', 'chroot', ctr, '--', 'knot', '--help'], { encoding: 'utf8' });
      expect(help).toMatch(/worker/);
      expect(execFileSync('buildah', [...store, 'run', '--isolation', 'chroot', ctr, '--', 'id', '-u'], { encoding: 'utf8' }).trim()).toBe('10001');
      // the SQLite store in /data as that user: the native better-sqlite3 module loads and /data is writable
      const migrated = execFileSync('buildah', [...store, 'run', '--isolation', 'chroot', ctr, '--', 'knot', 'migrate'], { encoding: 'utf8' });
      expect(migrated).toMatch(/"store":"sqlite"/);
    } finally {
      spawnSync('buildah', [...store, 'rm', '--all']);
      spawnSync('buildah', [...store, 'rmi', '--all', '--force']);
      rmSync(root, { recursive: true, force: true });
    }
  },
  1_000_000,
);
