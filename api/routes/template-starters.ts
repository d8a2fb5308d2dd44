/**
 * Starter templates (admins): the templates shipped in examples/templates/ (api/starters.ts),
 * offered while the store has none, each added with one call as an ordinary first version, editable
 * after. Their own path rather than /templates/starters, which would shadow a template named
 * `starters`. Adding goes through the same validation and storage as POST /templates.
 */
import { notFound } from '../../core/errors';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import { starterList, templateView } from '../schemas/templates';
import { readStarters } from '../starters';
import { createTemplate, fullView } from './templates';

const BASE = '/api/v1/template-starters';

export const templateStarterRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: BASE,
    tag: 'templates',
    summary: 'The starter templates shipped with knot, and whether they are offered (the store has no template)',
    auth: 'admin',
    responses: { 200: { description: 'starters', schema: starterList }, ...problems(403, ...AUTH_PROBLEMS) },
    async handler({ svc }) {
      const offered = (await svc.store.templates.list()).length === 0;
      const items = readStarters().map(({ name, displayName, description, type }) => ({ name, displayName, description, type }));
      return { status: 200, body: { offered, items } };
    },
  }),
  defineRoute({
    method: 'post',
    path: `${BASE}/:name`,
    tag: 'templates',
    summary: 'Add a starter as a template (version 1.0.0, validated like any other)',
    auth: 'admin',
    audit: { action: 'template.create', resourceType: 'template' },
    responses: { 201: { description: 'the template added', schema: templateView }, ...problems(400, 403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, audit }) {
      const name = params.name ?? '';
      const starter = readStarters().find((s) => s.name === name);
      if (!starter) throw notFound('starter', name);
      audit.resourceId = starter.name;
      const t = await createTemplate(svc, actor, starter.content);
      audit.detail = { version: t.latestVersion, starter: starter.name };
      return { status: 201, body: await fullView(svc, t), headers: { Location: `/api/v1/templates/${t.name}` } };
    },
  }),
];
