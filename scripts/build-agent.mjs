/**
 * Builds what a space downloads to run the agent (`GET /agent/<file>`, api/agent-downloads.ts):
 * one CommonJS file for Node 20 (the `knot agent` command, cli/agent-main.ts, bundled by esbuild)
 * and, per CPU architecture, a tarball with it, the PTY module and that architecture's prebuilt
 * binary, plus SHA256SUMS. `npm run build` runs it after tsc (which owns dist/agent/, the compiled
 * agent sources: the downloads go to dist/agent-downloads/).
 *
 *   node scripts/build-agent.mjs [--arch amd64,arm64] [--out dir]
 *
 * Architectures use Nomad's names (`${attr.cpu.arch}`). The binary for the machine's own
 * architecture comes from node_modules; the other one is fetched once with `npm pack` into
 * .tools/agent-cache and checked against package-lock.json's integrity. Offline, with nothing
 * cached, the default build makes only what it can and says so in one line (an --arch asked for by
 * name fails instead).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'cli/agent-main.ts');
const CACHE = path.join(ROOT, '.tools/agent-cache');
const PTY = '@lydell/node-pty';
/** Nomad's arch name → Node's (process.arch), which names the PTY binary's package */
const NODE_ARCH = { amd64: 'x64', arm64: 'arm64' };

const { values: opts } = parseArgs({ options: { arch: { type: 'string' }, out: { type: 'string', default: path.join(ROOT, 'dist/agent-downloads') } } });
const explicit = opts.arch !== undefined;
const arches = (opts.arch ?? 'amd64,arm64').split(',').map((a) => a.trim()).filter(Boolean);
for (const a of arches) if (!(a in NODE_ARCH)) fail(`unknown --arch ${a}: use ${Object.keys(NODE_ARCH).join(', ')}`);
const OUT = path.resolve(opts.out);

function fail(message) {
  process.stderr.write(`build-agent: ${message}\n`);
  process.exit(1);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const ptyVersion = readJson(path.join(ROOT, 'node_modules', PTY, 'package.json')).version;
const lock = readJson(path.join(ROOT, 'package-lock.json'));

/** The bundle: everything but the PTY module (native code, shipped beside it) in one file. */
async function bundle(outfile) {
  await build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // ws's and ssh2's optional native speed-ups are looked up in try/catch; both work without
    // them (ssh2 falls back to Node's crypto), so they stay out of the bundle
    external: [PTY, 'bufferutil', 'utf-8-validate', 'cpu-features', '*.node'],
    // a clear message instead of a syntax error or a missing API on an older Node
    banner: { js: "if (Number(process.versions.node.split('.')[0]) < 20) { process.stderr.write('knot-agent needs Node.js 20 or newer, this is ' + process.version + '\\n'); process.exit(1); }" },
    legalComments: 'eof',
    logLevel: 'warning',
    // no package.json travels with the bundle: the agent reports this version over the link
    define: { KNOT_AGENT_VERSION: JSON.stringify(readJson(path.join(ROOT, 'package.json')).version) },
  });
}

function sha512Integrity(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** The folder of `@lydell/node-pty-linux-<nodeArch>`, or null when it can't be had (offline). */
function platformPackage(nodeArch, scratch) {
  const name = `${PTY}-linux-${nodeArch}`;
  const installed = path.join(ROOT, 'node_modules', name);
  if (existsSync(installed) && readJson(path.join(installed, 'package.json')).version === ptyVersion) return installed;
  const integrity = lock.packages?.[`node_modules/${name}`]?.integrity;
  const tgz = path.join(CACHE, `${name.slice(1).replace('/', '-')}-${ptyVersion}.tgz`);
  if (!existsSync(tgz)) {
    mkdirSync(CACHE, { recursive: true });
    try {
      // few retries, short timeouts: offline this should cost seconds, not minutes
      execFileSync('npm', ['pack', `${name}@${ptyVersion}`, '--pack-destination', CACHE, '--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=5000', '--fetch-timeout=30000', '--loglevel=error'], { cwd: CACHE, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    } catch (e) {
      return { missing: `npm pack ${name}@${ptyVersion} failed (${String(e.stderr || e.message).trim().split('\n')[0]})` };
    }
    if (!existsSync(tgz)) return { missing: `npm pack did not write ${path.relative(ROOT, tgz)}` };
  }
  if (integrity && sha512Integrity(tgz) !== integrity) {
    rmSync(tgz);
    fail(`${path.relative(ROOT, tgz)} does not match package-lock.json's integrity; removed it, run again`);
  }
  const dir = path.join(scratch, `unpacked-${nodeArch}`);
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', dir]);
  return path.join(dir, 'package');
}

/** Same modes whatever the umask or the source's: readable files, an executable launcher. */
function normaliseModes(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      chmodSync(p, 0o755);
      normaliseModes(p);
    } else chmodSync(p, 0o644);
  }
}

/** A reproducible tar.gz of `stage/knot-agent`: sorted names, owner 0, time 0, no gzip name or time. */
function tarball(stage, outfile) {
  const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--format=gnu', '-C', stage, '-cf', '-', 'knot-agent'], { maxBuffer: 1 << 30 });
  writeFileSync(outfile, execFileSync('gzip', ['-n', '-9'], { input: tar, maxBuffer: 1 << 30 }));
}

const LAUNCHER = '#!/bin/sh\n# runs the agent with the node on PATH (Node.js 20 or newer); follows a symlink to find its files\nexec node "$(dirname "$(readlink -f "$0")")/knot-agent.js" "$@"\n';

async function main() {
  const scratch = mkdtempSync(path.join(tmpdir(), 'knot-agent-build-'));
  try {
    const js = path.join(scratch, 'knot-agent.js');
    await bundle(js);
    const built = [];
    const skipped = [];
    for (const arch of arches) {
      const nodeArch = NODE_ARCH[arch];
      const binary = platformPackage(nodeArch, scratch);
      if (typeof binary !== 'string') {
        if (explicit) fail(`${arch}: ${binary.missing}`);
        skipped.push(`${arch} (${binary.missing})`);
        continue;
      }
      const stage = path.join(scratch, `stage-${arch}`);
      const dir = path.join(stage, 'knot-agent');
      const modules = path.join(dir, 'node_modules', '@lydell');
      mkdirSync(modules, { recursive: true });
      cpSync(js, path.join(dir, 'knot-agent.js'));
      writeFileSync(path.join(dir, 'knot-agent'), LAUNCHER);
      // the JS side of the PTY module, without its own node_modules or the types
      const ptyDir = path.join(ROOT, 'node_modules', PTY);
      cpSync(ptyDir, path.join(modules, 'node-pty'), { recursive: true, filter: (src) => !path.relative(ptyDir, src).split(path.sep).includes('node_modules') && !src.endsWith('.d.ts') });
      cpSync(binary, path.join(modules, `node-pty-linux-${nodeArch}`), { recursive: true });
      normaliseModes(stage);
      chmodSync(path.join(dir, 'knot-agent'), 0o755);
      const name = `knot-agent-linux-${arch}.tar.gz`;
      tarball(stage, path.join(scratch, name));
      built.push(name);
    }
    if (built.length === 0) fail(`no architecture could be built: ${skipped.join('; ')}`);

    // replace the downloads as a whole: only what this run built, and its sums
    mkdirSync(OUT, { recursive: true });
    for (const f of readdirSync(OUT)) if (/^knot-agent-linux-.+\.tar\.gz$|^SHA256SUMS$/.test(f)) rmSync(path.join(OUT, f));
    const sums = [];
    for (const name of built.sort()) {
      const file = path.join(scratch, name);
      sums.push(`${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${name}\n`);
      copyFileSync(file, path.join(OUT, name));
      process.stdout.write(`build-agent: ${path.relative(ROOT, path.join(OUT, name))} ${(statSync(path.join(OUT, name)).size / 1024).toFixed(0)} KiB\n`);
    }
    writeFileSync(path.join(OUT, 'SHA256SUMS'), sums.join(''));
    if (skipped.length) process.stderr.write(`build-agent: warning: not built: ${skipped.join('; ')}\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e) => fail(e.stack ?? String(e)));
