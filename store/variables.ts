/** Template variables (`.var.NAME`). Protected values are stored as AES-256-GCM ciphertext. */
import type { Db } from './db';
import { toBool } from './db';
import { isUniqueViolation } from './spaces';
import { conflict } from '../core/errors';

export interface TemplateVariable {
  id: string;
  name: string;
  /** plaintext, or `v1:` ciphertext when protected */
  value: string;
  protected: boolean;
  createdAt: number;
  updatedAt: number;
}

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

export async function listVariables(db: Db): Promise<TemplateVariable[]> {
  return (await db('template_variables').orderBy('name')).map(fromRow);
}

export async function getVariable(db: Db, name: string): Promise<TemplateVariable | null> {
  const r = await db('template_variables').where({ name }).first();
  return r ? fromRow(r) : null;
}

export async function insertVariable(db: Db, v: Omit<TemplateVariable, 'createdAt' | 'updatedAt'>, now: number): Promise<TemplateVariable> {
  try {
    await db('template_variables').insert({ id: v.id, name: v.name, value: v.value, protected: v.protected, created_at: now, updated_at: now });
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`a variable named '${v.name}' already exists`, { field: 'name' });
    throw e;
  }
  return (await getVariable(db, v.name))!;
}

export async function updateVariable(db: Db, name: string, patch: { value?: string; protected?: boolean }, now: number): Promise<void> {
  const row: Record<string, unknown> = { updated_at: now };
  if (patch.value !== undefined) row.value = patch.value;
  if (patch.protected !== undefined) row.protected = patch.protected;
  await db('template_variables').where({ name }).update(row);
}

export async function deleteVariable(db: Db, name: string): Promise<boolean> {
  return (await db('template_variables').where({ name }).delete()) > 0;
}
