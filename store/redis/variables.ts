/**
 * Template variables: one hash `variables` (name → JSON). Names are the hash's fields, so a name
 * is unique by construction; a write WATCHes the whole (small) hash.
 */
import { alreadyInUse } from '../../core/errors';
import type { NewVariable, TemplateVariable, VariablePatch } from '../model';
import type { VariableRepository } from '../store';
import type { Keys } from './keys';
import { parseJson, type Kv } from './kv';

const byName = (a: TemplateVariable, b: TemplateVariable) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function redisVariables(kv: Kv, keys: Keys): VariableRepository {
  const key = keys.variables;
  const parse = (text: string | null) => parseJson<TemplateVariable>(text, key);

  return {
    list: async () => [...(await kv.read.hgetall(key)).values()].map((text) => parse(text) as TemplateVariable).sort(byName),

    get: async (name) => parse(await kv.read.hget(key, name)),

    insert: (v: NewVariable, now: number) =>
      kv.write(async (tx) => {
        if ((await tx.hget(key, v.name)) !== null) throw alreadyInUse(`a variable named '${v.name}' already exists`, 'name');
        const stored: TemplateVariable = { id: v.id, name: v.name, value: v.value, protected: v.protected, createdAt: now, updatedAt: now };
        tx.hset(key, v.name, JSON.stringify(stored));
        return stored;
      }),

    update: (name: string, patch: VariablePatch, now: number) =>
      kv.write(async (tx) => {
        const before = parse(await tx.hget(key, name));
        if (!before) return;
        const after: TemplateVariable = {
          ...before,
          ...(patch.value !== undefined ? { value: patch.value } : {}),
          ...(patch.protected !== undefined ? { protected: patch.protected } : {}),
          updatedAt: now,
        };
        tx.hset(key, name, JSON.stringify(after));
      }),

    delete: (name: string) =>
      kv.write(async (tx) => {
        if ((await tx.hget(key, name)) === null) return false;
        tx.hdel(key, name);
        return true;
      }),
  };
}
