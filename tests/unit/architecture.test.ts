/**
 * `npm run lint:deps` (dependency-cruiser with .dependency-cruiser.cjs) fails on an import
 * against the folder rules or a cycle, and passes on the tree. Each case builds a tiny tree in a
 * temp dir and cruises it with the project's rules.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');
const config = path.join(root, '.dependency-cruiser.cjs');

function cruise(files: Record<string, string>): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'knot-deps-'));
  try {
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    const folders = [...new Set(Object.keys(files).map((f) => f.split('/')[0]!))];
    try {
      const output = execFileSync(depcruise, ['--config', config, '--output-type', 'err', ...folders], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      return { ok: true, output };
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('folder dependency rules', () => {
  it('accept imports that point the allowed way', () => {
    const r = cruise({
      'core/a.ts': 'export const a = 1;\n',
      'store/b.ts': "import { a } from '../core/a';\nexport const b = a;\n",
      'activities/c.ts': "import { b } from '../store/b';\nexport async function c() { return b; }\n",
      'workflows/d.ts': "import type { c } from '../activities/c';\nexport type D = typeof c;\n",
    });
    expect(r.output).toContain('no dependency violations');
    expect(r.ok).toBe(true);
  });

  it.each([
    ['core importing store', { 'core/a.ts': "import { b } from '../store/b';\nexport const a = b;\n", 'store/b.ts': 'export const b = 1;\n' }, 'core-imports'],
    ['activities importing temporal', { 'activities/a.ts': "import { b } from '../temporal/b';\nexport const a = b;\n", 'temporal/b.ts': 'export const b = 1;\n' }, 'activities-imports'],
    [
      'workflows importing an activity at run time',
      { 'workflows/a.ts': "import { b } from '../activities/b';\nexport const a = b;\n", 'activities/b.ts': 'export const b = 1;\n' },
      'workflows-type-only-imports',
    ],
    ['api importing workflows', { 'api/a.ts': "import { b } from '../workflows/b';\nexport const a = b;\n", 'workflows/b.ts': 'export const b = 1;\n' }, 'api-imports'],
    [
      'one store driver importing another',
      { 'store/sql/a.ts': "import { b } from '../redis/b';\nexport const a = b;\n", 'store/redis/b.ts': 'export const b = 1;\n' },
      'store-drivers-apart',
    ],
    [
      'an activity reaching past the store interface into a driver',
      { 'activities/a.ts': "import { b } from '../store/sql/b';\nexport const a = b;\n", 'store/sql/b.ts': 'export const b = 1;\n' },
      'store-through-its-interface',
    ],
    [
      'a cycle inside one folder',
      { 'core/a.ts': "import { b } from './b';\nexport const a = () => b;\n", 'core/b.ts': "import { a } from './a';\nexport const b = () => a;\n" },
      'no-cycles',
    ],
  ])('refuse %s', (_name, files, rule) => {
    const r = cruise(files);
    expect(r.ok).toBe(false);
    expect(r.output).toContain(rule);
  });
});
