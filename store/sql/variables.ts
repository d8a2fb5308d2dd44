/** Template variables on SQL (`template_variables`). */
import { alreadyInUse } from '../../core/errors';
import type { TemplateVariable } from '../model';
import type { VariableRepository } from '../store';
import { isUniqueViolation, toBool, type Queryable } from './db';

function fromRow(r: Record<string, unknown>): TemplateVariable {
  return {
    id: r.id as string,
    name: r.name as string,
    value: r.value as string,
    protected: toBool(r.protected),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function sqlVariables(db: Queryable): VariableRepository {
  const variables: VariableRepository = {
    async list() {
      return (await db('template_variables').orderBy('name')).map(fromRow);
    },

    async get(name) {
      const r = await db('template_variables').where({ name }).first();
      return r ? fromRow(r) : null;
    },

    async insert(v, now) {
      try {
        await db('template_variables').insert({ id: v.id, name: v.name, value: v.value, protected: v.protected, created_at: now, updated_at: now });
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyInUse(`a variable named '${v.name}' already exists`, 'name');
        throw e;
      }
      return (await variables.get(v.name))!;
    },

    async update(name, patch, now) {
      const row: Record<string, unknown> = { updated_at: now };
      if (patch.value !== undefined) row.value = patch.value;
      if (patch.protected !== undefined) row.protected = patch.protected;
      await db('template_variables').where({ name }).update(row);
    },

    async delete(name) {
      return (await db('template_variables').where({ name }).delete()) > 0;
    },
  };
  return variables;
}
