/**
 * The starter templates: each folder of examples/templates/ with a template.yaml (the files
 * `knot template push` takes), read at run time so what the UI offers is exactly what ships.
 * Found next to the package like the web UI and the agent downloads: `<repo>/examples` when run
 * from source, `<package>/examples` beside dist/ when built (the server image copies it there).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { TEMPLATE_FILE_FIELDS, templateFileReference } from '../core/template-file';

export interface Starter {
  /** the template's name (its folder's name) */
  name: string;
  displayName: string;
  description: string;
  type: 'nomad' | 'manual';
  /** the template document with `job:`/`volumes:` files read in: a POST /api/v1/templates body */
  content: Record<string, unknown>;
}

/** examples/templates of this checkout or installation, or null when it did not ship. */
export function startersRoot(): string | null {
  for (const dir of [resolve(__dirname, '../examples/templates'), resolve(__dirname, '../../examples/templates')]) {
    if (existsSync(dir)) return dir;
  }
  return null;
}

function readStarter(root: string, folder: string): Starter | null {
  const file = join(root, folder, 'template.yaml');
  if (!existsSync(file)) return null;
  const doc: unknown = YAML.parse(readFileSync(file, 'utf8'));
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const content: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
  for (const key of TEMPLATE_FILE_FIELDS) {
    const ref = templateFileReference(content[key]);
    // only a plain file name next to template.yaml: a starter never reads outside its folder
    if (ref && /^[\w.-]+$/.test(ref)) content[key] = readFileSync(join(root, folder, ref), 'utf8');
  }
  const text = (k: string) => (typeof content[k] === 'string' ? (content[k] as string) : '');
  return {
    name: text('name') || folder,
    displayName: text('displayName') || text('name') || folder,
    description: text('description'),
    type: content.type === 'manual' ? 'manual' : 'nomad',
    content: { name: folder, ...content },
  };
}

/** Every starter, by name. */
export function readStarters(root: string | null = startersRoot()): Starter[] {
  if (!root) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => readStarter(root, d.name))
    .filter((s): s is Starter => s !== null)
    .sort((a, b) => a.name.localeCompare(b.name));
}
