/**
 * Spaces. The API validates and then asks the lifecycle client: create runs the create workflow to
 * completion (201); every other change starts a workflow and answers 202 with the operation. The
 * API never changes a space's lifecycle state itself. Users see and act on their own spaces only
 * (others' → 404); admins on all.
 */
import { z } from 'zod';
import { encryptSecret } from '../../core/crypto';
import { ErrorType, KnotError } from '../../core/errors';
import { secretParameterNames, validateParameterValues, type ParameterDef, type ParameterValue } from '../../core/parameters';
import { checkTemplateRef } from '../../core/versions';
import type { Space, User } from '../../store/model';
import { checkAgentUrl, requireDeletable, type SpaceSpecChange } from '../../core/lifecycle';
import type { Actor, Services } from '../context';
import { findUser, templateAllows } from '../lookup';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, decodeCursor, encodeCursor, problems } from '../schemas/common';
import {
  actionBody,
  createSpaceBody,
  getSpaceQuery,
  listSpacesQuery,
  operationAccepted,
  operationList,
  spaceList,
  spaceView as spaceViewSchema,
  updateSpaceBody,
} from '../schemas/spaces';
import { checkCreate, startGuard, unitsOfSpace } from '../quota-check';
import { checkAutostart, requireInsideSchedule } from '../autostart-check';
import { findVisibleSpace, resolvedVersion, spaceView, spaceViews, templateFacts, type TemplateFacts } from '../space-views';
import { mergePages, sharedSpacesPage } from '../spaces-shared-with-me';
import { API_BASE, operationJson } from '../views';

const BASE = `${API_BASE}/spaces`;
const cursorSchema = z.object({ c: z.number(), i: z.string() });

function fieldError(path: string, message: string, type: KnotError['type'] = ErrorType.Validation): KnotError {
  return new KnotError(type, `${path}: ${message}`, { errors: [{ path, message }] });
}

/** The version a ref resolves to, or a 400 naming `templateVersion`. */
function requireResolved(facts: TemplateFacts, ref: string) {
  const refErrors = checkTemplateRef(ref);
  if (refErrors.length) throw new KnotError(ErrorType.Validation, refErrors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors: refErrors });
  const v = resolvedVersion(facts, ref);
  if (!v) throw fieldError('templateVersion', `no version of template '${facts.template.name}' matches '${ref || 'latest'}'`);
  return v;
}

/**
 * Checks values against the definitions; keeps only the values given (normalised), so later
 * template defaults still apply. Password values need the encryption key (the store encrypts them).
 */
function checkParameters(svc: Services, defs: readonly ParameterDef[], given: Record<string, ParameterValue> | undefined, partial: boolean) {
  const normalised = validateParameterValues(defs, given, { partial });
  const out: Record<string, ParameterValue> = {};
  for (const k of Object.keys(given ?? {})) {
    const v = normalised[k];
    if (v !== undefined) out[k] = v;
  }
  // encrypted here so a password never reaches Temporal history in clear; activities decrypt
  for (const name of secretParameterNames(defs)) {
    const v = out[name];
    if (typeof v === 'string' && v !== '') out[name] = encryptSecret(v, svc.config.server.encrypt);
  }
  return out;
}

async function ownerFor(svc: Services, actor: Actor, owner: string | undefined): Promise<User> {
  if (owner === undefined || owner === actor.user.username) return actor.user;
  if (!actor.isAdmin) throw new KnotError(ErrorType.Forbidden, 'only admins may create spaces for other users', { errors: [{ path: 'owner', message: 'admins only' }] });
  const u = await findUser(svc.store, owner);
  if (!u || !u.active) throw fieldError('owner', `unknown or inactive user '${owner}'`);
  return u;
}

async function factsOf(svc: Services, space: Space): Promise<TemplateFacts> {
  const f = await templateFacts(svc, space.templateId);
  if (!f) throw new KnotError(ErrorType.Internal, `space ${space.id} refers to a missing template`);
  return f;
}

async function ownerNameOf(svc: Services, actor: Actor, space: Space): Promise<string> {
  if (space.ownerId === actor.user.id) return actor.user.username;
  return (await findUser(svc.store, space.ownerId))?.username ?? space.ownerId;
}

/** The quota guard of a start or restart: the units of the version the space's ref resolves to. */
async function quotaGuardOf(svc: Services, space: Space, facts: TemplateFacts) {
  const version = resolvedVersion(facts, space.templateRef);
  const units = await unitsOfSpace(svc, space, facts.template, version?.content ?? {});
  return startGuard(space, units, true, svc.now());
}

function accepted(op: Parameters<typeof operationJson>[0]) {
  return { status: 202, body: { operation: operationJson(op) }, headers: { Location: `${API_BASE}/operations/${op.id}` } };
}

const ACTIONS = ['start', 'stop', 'restart', 'update'] as const;

export const spaceRoutes: RouteDef[] = [
  defineRoute({
    method: 'post',
    path: BASE,
    tag: 'spaces',
    summary: 'Create a space (stopped); runs the create workflow to completion',
    auth: 'user',
    body: { 'application/json': createSpaceBody },
    audit: { action: 'space.create', resourceType: 'space' },
    responses: { 201: { description: 'created', schema: spaceViewSchema }, ...problems(400, 403, 409, 413, 415, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, body, audit }) {
      audit.detail = { name: body.name, template: body.template };
      const owner = await ownerFor(svc, actor, body.owner);
      const t = await svc.store.templates.getByName(body.template);
      if (!t || !templateAllows(actor, t.groups)) throw fieldError('template', `unknown template '${body.template}'`);
      const facts = (await templateFacts(svc, t.id))!;
      const ref = body.templateVersion ?? '';
      const version = requireResolved(facts, ref);
      const parameters = checkParameters(svc, version.content.parameters ?? [], body.parameters, false);
      const agentUrl = body.agentUrl ?? null;
      checkAgentUrl(t.type, agentUrl);
      if (await svc.store.spaces.getByName(owner.id, body.name)) {
        throw new KnotError(ErrorType.Conflict, `a space named '${body.name}' already exists`, { errors: [{ path: 'name', message: 'already in use' }] });
      }
      // checked before anything is created: a refused autostart leaves no space behind
      const autostartNextAt = body.autostart ? await checkAutostart(svc, owner.id, t.name, version.content, body.autostart) : null;
      await checkCreate(svc, owner.id);
      const spaceId = svc.newId();
      audit.resourceId = spaceId;
      const { space } = await svc.lifecycle.createSpace(
        { spaceId, name: body.name, ownerId: owner.id, templateId: t.id, templateRef: ref, parameters, shell: body.shell, agentUrl, requestedBy: actor.user.id },
        owner.username,
        t.name,
      );
      if (body.autostart) await svc.store.autostarts.set(space.id, body.autostart, autostartNextAt, svc.now());
      return { status: 201, body: await spaceView(svc, space, actor), headers: { Location: `${BASE}/${space.id}` } };
    },
  }),
  defineRoute({
    method: 'get',
    path: BASE,
    tag: 'spaces',
    summary: 'List spaces (own and shared with you; admins: all) with filters and cursor pagination',
    description: 'Filters combine (AND): `owner`, `template`, `phase`, `namePrefix`. An unknown owner or template answers an empty page.',
    auth: 'user',
    query: listSpacesQuery,
    responses: { 200: { description: 'a page of spaces', schema: spaceList }, ...problems(400, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, query }) {
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
      if (after === null) throw fieldError('query.cursor', 'is not a cursor from a previous page');
      const empty = { status: 200, body: { items: [], nextCursor: null } };
      let ownerId: string | undefined = actor.isAdmin ? undefined : actor.user.id;
      if (query.owner !== undefined) {
        const owner = await findUser(svc.store, query.owner);
        if (!owner) return empty;
        ownerId = owner.id;
      }
      let templateId: string | undefined;
      if (query.template !== undefined) {
        const t = await svc.store.templates.getByName(query.template);
        if (!t) return empty;
        templateId = t.id;
      }
      const filter = {
        ...(ownerId ? { ownerId } : {}),
        ...(templateId ? { templateId } : {}),
        ...(query.phase ? { phase: query.phase } : {}),
        ...(query.namePrefix ? { namePrefix: query.namePrefix } : {}),
        ...(query.order === 'newest' ? { newestFirst: true } : {}),
        ...(after ? { after: { createdAt: after.c, id: after.i } } : {}),
        limit: query.limit + 1,
      };
      // others' spaces shared with the caller join their own (admins see every space anyway)
      const own = query.shared === 'true' || (!actor.isAdmin && ownerId !== actor.user.id) ? [] : await svc.store.spaces.list(filter);
      const shared = query.shared === 'true' || (!actor.isAdmin && query.shared !== 'false') ? await sharedSpacesPage(svc, actor, query.owner !== undefined ? filter : { ...filter, ownerId: undefined }) : [];
      const rows = mergePages(own, shared, filter);
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      const nextCursor = rows.length > query.limit && last ? encodeCursor({ c: last.createdAt, i: last.id }) : null;
      return { status: 200, body: { items: await spaceViews(svc, page, actor), nextCursor } };
    },
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:id`,
    tag: 'spaces',
    summary: "One space by id, or by name (the caller's; admins may add ?owner=)",
    auth: 'user',
    query: getSpaceQuery,
    responses: { 200: { description: 'the space', schema: spaceViewSchema }, ...problems(400, 404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, query }) {
      return { status: 200, body: await spaceView(svc, await findVisibleSpace(svc, actor, params.id ?? '', query.owner), actor) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: `${BASE}/:id`,
    tag: 'spaces',
    summary: 'Change the spec (templateVersion, parameters, shell, agentUrl): starts an update → 202; only `autostart` / `dormancyExempt`: 200',
    description: '`parameters` is partial: the given values replace, others stay. `autostart` and `dormancyExempt` (admins only, else 403) are settings, not the spec: set alone they answer 200 with the space and start no update.',
    auth: 'user',
    body: { 'application/json': updateSpaceBody },
    audit: { action: 'space.update', resourceType: 'space' },
    responses: {
      200: { description: 'only settings (autostart, dormancyExempt) changed: the space', schema: spaceViewSchema },
      202: { description: 'update started', schema: operationAccepted },
      ...problems(400, 403, 404, 409, 413, 415, ...AUTH_PROBLEMS),
    },
    async handler({ svc, actor, params, body: fullBody, audit }) {
      const space = await findVisibleSpace(svc, actor, params.id ?? '', undefined, 'manage');
      audit.resourceId = space.id;
      const { autostart, dormancyExempt, ...body } = fullBody;
      if (Object.keys(body).length === 0 && autostart === undefined && dormancyExempt === undefined) throw fieldError('(body)', 'nothing to change: give templateVersion, parameters, shell, agentUrl, autostart or dormancyExempt');
      // a setting like autostart, but the owner's own space is not theirs to keep past the template's rule
      if (dormancyExempt !== undefined) {
        if (!actor.isAdmin) throw new KnotError(ErrorType.Forbidden, 'only admins may exempt a space from dormancy', { errors: [{ path: 'dormancyExempt', message: 'admins only' }] });
        await svc.store.dormancy.setExempt(space.id, dormancyExempt, svc.now());
        if (Object.keys(body).length === 0 && autostart === undefined) {
          audit.detail = { changed: ['dormancyExempt'], dormancyExempt };
          return { status: 200, body: await spaceView(svc, space, actor) };
        }
      }
      const facts = await factsOf(svc, space);
      const ref = body.templateVersion ?? space.templateRef;
      const version = requireResolved(facts, ref);
      if (autostart !== undefined) {
        const nextAt = autostart ? await checkAutostart(svc, space.ownerId, facts.template.name, version.content, autostart) : null;
        await svc.store.autostarts.set(space.id, autostart, nextAt, svc.now());
        if (Object.keys(body).length === 0) {
          audit.detail = { changed: dormancyExempt === undefined ? ['autostart'] : ['autostart', 'dormancyExempt'], autostart, ...(dormancyExempt === undefined ? {} : { dormancyExempt }) };
          return { status: 200, body: await spaceView(svc, space, actor) };
        }
      }
      const spec: SpaceSpecChange = {};
      if (body.templateVersion !== undefined) spec.templateRef = body.templateVersion;
      if (body.parameters !== undefined) spec.parameters = checkParameters(svc, version.content.parameters ?? [], body.parameters, true);
      if (body.shell !== undefined) spec.shell = body.shell;
      if (body.agentUrl !== undefined) {
        checkAgentUrl(facts.template.type, body.agentUrl);
        spec.agentUrl = body.agentUrl;
      }
      audit.detail = { changed: Object.keys(spec) };
      const target = { ...space, parameters: { ...space.parameters, ...(spec.parameters ?? {}) } };
      const units = await unitsOfSpace(svc, target, facts.template, version.content);
      const op = await svc.lifecycle.startOperation({
        spaceId: space.id,
        type: 'update',
        requestedBy: actor.user.id,
        ownerName: await ownerNameOf(svc, actor, space),
        spaceName: space.name,
        templateName: facts.template.name,
        spec,
      }, startGuard(space, units, space.phase === 'running' || space.phase === 'starting', svc.now()));
      return accepted(op);
    },
  }),
  ...ACTIONS.map((action) =>
    defineRoute({
      method: 'post',
      path: `${BASE}/:id/${action}`,
      tag: 'spaces',
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} the space → 202 with the operation`,
      auth: 'user',
      body: { 'application/json': actionBody },
      bodyRequired: false,
      audit: { action: `space.${action}`, resourceType: 'space' },
      responses: { 202: { description: `${action} started; Location is the operation`, schema: operationAccepted }, ...problems(400, 403, 404, 409, 415, ...AUTH_PROBLEMS) },
      async handler({ svc, actor, params, body, audit }) {
        // start, stop, restart: a `user` share may; update changes the spec: owner and admins
        const space = await findVisibleSpace(svc, actor, params.id ?? '', undefined, action === 'update' ? 'manage' : 'operate');
        audit.resourceId = space.id;
        const facts = await factsOf(svc, space);
        // refused up front, not started and then stopped by the auto-stop sweep
        if (action === 'start' || action === 'restart') await requireInsideSchedule(svc, space.ownerId, facts.template.name, resolvedVersion(facts, space.templateRef)?.content ?? {});
        const guard = action === 'start' || action === 'restart' ? await quotaGuardOf(svc, space, facts) : undefined;
        const op = await svc.lifecycle.startOperation({
          spaceId: space.id,
          type: action,
          requestedBy: actor.user.id,
          ownerName: await ownerNameOf(svc, actor, space),
          spaceName: space.name,
          templateName: facts.template.name,
          ...(body.reason ? { reason: body.reason } : {}),
        }, guard);
        return accepted(op);
      },
    }),
  ),
  defineRoute({
    method: 'delete',
    path: `${BASE}/:id`,
    tag: 'spaces',
    summary: 'Delete a stopped (or failed) space and its volumes → 202; 409 while it runs',
    auth: 'user',
    audit: { action: 'space.delete', resourceType: 'space' },
    responses: { 202: { description: 'delete started', schema: operationAccepted }, ...problems(403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, audit }) {
      const space = await findVisibleSpace(svc, actor, params.id ?? '', undefined, 'manage');
      audit.resourceId = space.id;
      requireDeletable(space);
      const facts = await factsOf(svc, space);
      const op = await svc.lifecycle.startOperation({
        spaceId: space.id,
        type: 'delete',
        requestedBy: actor.user.id,
        ownerName: await ownerNameOf(svc, actor, space),
        spaceName: space.name,
        templateName: facts.template.name,
      });
      return accepted(op);
    },
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:id/operations`,
    tag: 'operations',
    summary: "A space's operations, newest first",
    auth: 'user',
    responses: { 200: { description: 'operations', schema: operationList }, ...problems(404, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params }) {
      const space = await findVisibleSpace(svc, actor, params.id ?? '');
      return { status: 200, body: { items: (await svc.store.operations.listOfSpace(space.id)).map(operationJson) } };
    },
  }),
];

