/** Admin CRUD for groups. Names are immutable (templates refer to groups by name). */
import { ErrorType, KnotError, notFound } from '../../core/errors';
import type { Group } from '../../store/model';
import type { Services } from '../context';
import { userIdsOf } from '../lookup';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, noContent, problems } from '../schemas/common';
import { createGroupBody, groupList, groupView, updateGroupBody } from '../schemas/groups';
import { groupJson } from '../views';
import { applyQuotaPatch } from '../../core/quotas';
import { quotaJson } from '../quota-views';

const BASE = '/api/v1/groups';

async function views(svc: Services, groups: Group[]) {
  const users = await svc.store.users.getByIds([...new Set(groups.flatMap((g) => g.memberIds))]);
  const names = new Map(users.map((u) => [u.id, u.username]));
  const quotas = await svc.store.quotas.limitsOf('group', groups.map((g) => g.id));
  return groups.map((g) => ({ ...groupJson(g, (id) => names.get(id)), quota: quotaJson(quotas.get(g.id) ?? null) }));
}

async function requireGroup(svc: Services, name: string): Promise<Group> {
  const g = await svc.store.groups.getByName(name);
  if (!g) throw notFound('group', name);
  return g;
}

export const groupRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: BASE,
    tag: 'groups',
    summary: 'List groups',
    auth: 'admin',
    responses: { 200: { description: 'all groups', schema: groupList }, ...problems(403, ...AUTH_PROBLEMS) },
    async handler({ svc }) {
      return { status: 200, body: { items: await views(svc, await svc.store.groups.list()) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: BASE,
    tag: 'groups',
    summary: 'Create a group',
    auth: 'admin',
    body: { 'application/json': createGroupBody },
    audit: { action: 'group.create', resourceType: 'group' },
    responses: { 201: { description: 'created', schema: groupView }, ...problems(400, 403, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, body, audit }) {
      audit.resourceId = body.name;
      const memberIds = await userIdsOf(svc.store, body.members, 'members');
      const g = await svc.store.groups.insert({ id: svc.newId(), name: body.name, description: body.description, memberIds }, svc.now());
      return { status: 201, body: (await views(svc, [g]))[0], headers: { Location: `${BASE}/${g.name}` } };
    },
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:name`,
    tag: 'groups',
    summary: 'One group',
    auth: 'admin',
    responses: { 200: { description: 'the group', schema: groupView }, ...problems(403, 404, ...AUTH_PROBLEMS) },
    async handler({ svc, params }) {
      return { status: 200, body: (await views(svc, [await requireGroup(svc, params.name ?? '')]))[0] };
    },
  }),
  defineRoute({
    method: 'patch',
    path: `${BASE}/:name`,
    tag: 'groups',
    summary: 'Change description, members (the full member list) or quota',
    auth: 'admin',
    body: { 'application/json': updateGroupBody },
    audit: { action: 'group.update', resourceType: 'group' },
    responses: { 200: { description: 'updated', schema: groupView }, ...problems(400, 403, 404, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, params, body }) {
      const g = await requireGroup(svc, params.name ?? '');
      const memberIds = body.members === undefined ? undefined : await userIdsOf(svc.store, body.members, 'members');
      await svc.store.transaction(async (tx) => {
        await tx.groups.update(g.id, { ...(body.description !== undefined ? { description: body.description } : {}), ...(memberIds ? { memberIds } : {}) }, svc.now());
        if (body.quota) await tx.quotas.setLimits('group', g.id, applyQuotaPatch((await tx.quotas.limitsOf('group', [g.id])).get(g.id) ?? null, body.quota), svc.now());
      });
      return { status: 200, body: (await views(svc, [(await svc.store.groups.get(g.id))!]))[0] };
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${BASE}/:name`,
    tag: 'groups',
    summary: 'Delete a group no template refers to',
    auth: 'admin',
    audit: { action: 'group.delete', resourceType: 'group' },
    responses: { 204: noContent, ...problems(403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, params }) {
      const g = await requireGroup(svc, params.name ?? '');
      const users = (await svc.store.templates.list()).filter((t) => t.groups.includes(g.name)).map((t) => t.name);
      if (users.length) {
        throw new KnotError(ErrorType.Conflict, `group '${g.name}' is used by template(s) ${users.join(', ')}; remove it from them first`, { details: { templates: users } });
      }
      await svc.store.groups.delete(g.id);
      return { status: 204 };
    },
  }),
];
