/** Store rows the benchmarks need, written directly (the API path is measured separately). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { newId } from '../core/names';
import { contentHash } from '../core/versions';
import { templateContentSchema, type TemplateContentInput } from '../core/template';
import type { Store } from '../store/store';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples', 'templates', 'debian');

/** The seed template (examples/templates/debian): one CSI volume `debian_<space>_home`. */
export function seedTemplateInput(name: string): TemplateContentInput {
  return {
    name,
    description: 'benchmark: examples/templates/debian',
    job: readFileSync(path.join(EXAMPLES, 'job.nomad.hcl'), 'utf8'),
    volumes: readFileSync(path.join(EXAMPLES, 'volumes.yaml'), 'utf8'),
  };
}

/** The seed template plus a second CSI volume `debian_<space>_data` (a template change). */
export function withExtraVolume(input: TemplateContentInput): TemplateContentInput {
  const volumes = String(input.volumes ?? '');
  const home = volumes.slice(volumes.indexOf('  - id:'));
  return { ...input, volumes: `${volumes.trimEnd()}\n${home.replace(/_home/g, '_data')}` };
}

export interface SeededUser {
  id: string;
  username: string;
}

export async function seedUser(store: Store, username: string, role: 'admin' | 'user' = 'user'): Promise<SeededUser> {
  const now = Date.now();
  const id = newId(now);
  await store.users.insert({ id, username, email: `${username}@example.com`, timezone: 'UTC', role, active: true }, now);
  return { id, username };
}

export interface SeededTemplate {
  id: string;
  name: string;
  version: string;
}

/** Stores a template version (new template, or a new version of an existing one). */
export async function seedTemplate(store: Store, input: TemplateContentInput, version = '1.0.0'): Promise<SeededTemplate> {
  const content = templateContentSchema.parse(input);
  const hash = contentHash(content as unknown as Record<string, unknown>);
  const meta = { name: content.name, displayName: content.displayName ?? '', description: content.description ?? '', type: content.type, groups: content.groups ?? [] };
  const now = Date.now();
  const existing = await store.templates.getByName(content.name);
  if (existing) {
    await store.templates.addVersion(existing.id, existing.latestVersion, meta, { versionId: newId(now), version, contentHash: hash, content, createdBy: null }, now);
    return { id: existing.id, name: content.name, version };
  }
  const id = newId(now);
  await store.templates.insert(id, meta, { versionId: newId(now), version, contentHash: hash, content, createdBy: null }, now);
  return { id, name: content.name, version };
}
