/**
 * The repository stands alone: no tracked file points outside it into a sibling `shared` folder
 * (a path that exists on the authors' machines, not in a user's clone).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
// assembled so this file does not match itself
const OUTSIDE = ['..', 'shared'].join('/');

describe('repository is self-contained', () => {
  it(`no tracked file references ${OUTSIDE}`, () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(path.join(ROOT, f), 'utf8');
      } catch {
        continue; // deleted in the work tree but not yet in the index
      }
      text.split('\n').forEach((line, i) => {
        if (line.includes(OUTSIDE)) offenders.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('the docs the README links to are in the repository', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\((docs\/[^)#]+)\)/g)].map((m) => m[1]!);
    expect(links).toEqual(expect.arrayContaining(['docs/architecture.md', 'docs/nomad-contract.md', 'docs/real-nomad.md']));
    for (const l of links) expect(() => readFileSync(path.join(ROOT, l), 'utf8')).not.toThrow();
  });
});
