/**
 * Template variables (`${{ .var.NAME }}`), admin only. Protected values are encrypted with
 * server.encrypt (associated data `variable:<id>`, binding the ciphertext to its row) and never
 * returned: they show as `"value": null, "protected": true`.
 */
import { encryptSecret, decryptSecret, variableAad } from '../../core/crypto';
import { ErrorType, KnotError, notFound } from '../../core/errors';
import { findTemplateExpressions } from '../../core/render';
import type { TemplateVariable } from '../../store/model';
import type { Services } from '../context';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, noContent, problems } from '../schemas/common';
import { createVariableBody, updateVariableBody, variableList, variableView } from '../schemas/variables';
import { variableJson } from '../views';

const BASE = '/api/v1/variables';


async function requireVariable(svc: Services, name: string): Promise<TemplateVariable> {
  const v = await svc.store.variables.get(name);
  if (!v) throw notFound('variable', name);
  return v;
}

function usesVariable(text: string | undefined, name: string, format: 'text' | 'yaml'): boolean {
  if (!text) return false;
  try {
    return findTemplateExpressions(text, { format }).some((e) => e.name?.[0] === 'var' && e.name[1] === name);
  } catch {
    return false;
  }
}

/** Names of live templates whose latest version uses the variable. */
async function templatesUsing(svc: Services, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of await svc.store.templates.list()) {
    const versions = await svc.store.templates.listVersions<{ job?: string; volumes?: string }>(t.id);
    const latest = versions.find((v) => v.version === t.latestVersion);
    if (latest && (usesVariable(latest.content.job, name, 'text') || usesVariable(latest.content.volumes, name, 'yaml'))) out.push(t.name);
  }
  return out;
}

export const variableRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: BASE,
    tag: 'variables',
    summary: 'List template variables (protected values are null)',
    auth: 'admin',
    responses: { 200: { description: 'variables', schema: variableList }, ...problems(403, ...AUTH_PROBLEMS) },
    async handler({ svc }) {
      return { status: 200, body: { items: (await svc.store.variables.list()).map(variableJson) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: BASE,
    tag: 'variables',
    summary: 'Create a variable; protected ones need server.encrypt',
    auth: 'admin',
    body: { 'application/json': createVariableBody },
    audit: { action: 'variable.create', resourceType: 'variable' },
    responses: { 201: { description: 'created', schema: variableView }, ...problems(400, 403, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, body, audit }) {
      audit.resourceId = body.name;
      if (await svc.store.variables.get(body.name)) {
        throw new KnotError(ErrorType.Conflict, `a variable named '${body.name}' already exists`, { errors: [{ path: 'name', message: 'already in use' }] });
      }
      const id = svc.newId();
      const value = body.protected ? encryptSecret(body.value, svc.config.server.encrypt, variableAad(id)) : body.value;
      const v = await svc.store.variables.insert({ id, name: body.name, value, protected: body.protected }, svc.now());
      return { status: 201, body: variableJson(v), headers: { Location: `${BASE}/${v.name}` } };
    },
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:name`,
    tag: 'variables',
    summary: 'One variable',
    auth: 'admin',
    responses: { 200: { description: 'the variable', schema: variableView }, ...problems(403, 404, ...AUTH_PROBLEMS) },
    async handler({ svc, params }) {
      return { status: 200, body: variableJson(await requireVariable(svc, params.name ?? '')) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: `${BASE}/:name`,
    tag: 'variables',
    summary: 'Change a variable\'s value and/or protection',
    auth: 'admin',
    body: { 'application/json': updateVariableBody },
    audit: { action: 'variable.update', resourceType: 'variable' },
    responses: { 200: { description: 'updated', schema: variableView }, ...problems(400, 403, 404, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, params, body }) {
      const v = await requireVariable(svc, params.name ?? '');
      const key = svc.config.server.encrypt;
      const protect = body.protected ?? v.protected;
      // the plaintext to store: the new value, else the current one (decrypted when protection changes)
      let plain: string | undefined = body.value;
      if (plain === undefined && protect !== v.protected) plain = v.protected ? decryptSecret(v.value, key, variableAad(v.id)) : v.value;
      const patch: { value?: string; protected?: boolean } = { protected: protect };
      if (plain !== undefined) patch.value = protect ? encryptSecret(plain, key, variableAad(v.id)) : plain;
      await svc.store.variables.update(v.name, patch, svc.now());
      return { status: 200, body: variableJson((await svc.store.variables.get(v.name))!) };
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${BASE}/:name`,
    tag: 'variables',
    summary: 'Delete a variable no template uses',
    auth: 'admin',
    audit: { action: 'variable.delete', resourceType: 'variable' },
    responses: { 204: noContent, ...problems(403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, params }) {
      const v = await requireVariable(svc, params.name ?? '');
      const users = await templatesUsing(svc, v.name);
      if (users.length) throw new KnotError(ErrorType.Conflict, `variable '${v.name}' is used by template(s) ${users.join(', ')}`, { details: { templates: users } });
      await svc.store.variables.delete(v.name);
      return { status: 204 };
    },
  }),
];
