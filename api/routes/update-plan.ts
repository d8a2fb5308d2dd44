/**
 * GET /spaces/:id/update-plan: what starting the space on the version its template ref resolves
 * to now would do to its volumes — created, kept, and DELETED WITH THEIR DATA — so the web UI can
 * warn before an update. Reads only: it renders the volume definitions like a start does and
 * plans them against the volumes the space has, and changes nothing.
 */
import { z } from 'zod';
import { ErrorType, KnotError } from '../../core/errors';
import type { TemplateContent } from '../../core/template';
import { renderVolumeDefinitions, planVolumes } from '../../core/volumes';
import { loadRenderContext, renderSettingsOf } from '../../store/render-context';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import { getSpaceQuery } from '../schemas/spaces';
import { findVisibleSpace, resolvedVersion, templateFacts, updateAvailableFor } from '../space-views';

const plannedVolume = z.object({ id: z.string(), name: z.string(), type: z.enum(['csi', 'host']) });

export const updatePlanView = z
  .object({
    spaceId: z.string(),
    appliedVersion: z.string().nullable(),
    targetVersion: z.string(),
    updateAvailable: z.boolean(),
    create: z.array(plannedVolume).describe('volumes the update creates (empty)'),
    keep: z.array(plannedVolume).describe('volumes that stay with their data'),
    remove: z.array(plannedVolume.omit({ name: true })).describe('volumes the update DELETES, with their data'),
  })
  .meta({ id: 'UpdatePlan' });

export const updatePlanRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: '/api/v1/spaces/:id/update-plan',
    tag: 'spaces',
    summary: 'What an update would do to the volumes: created, kept, deleted with their data (changes nothing)',
    auth: 'user',
    query: getSpaceQuery,
    responses: { 200: { description: 'the volume plan', schema: updatePlanView }, ...problems(400, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, query }) {
      const space = await findVisibleSpace(svc, actor, params.id ?? '', query.owner);
      const facts = await templateFacts(svc, space.templateId);
      const target = facts ? resolvedVersion(facts, space.templateRef) : null;
      if (!facts || !target || facts.template.deletedAt) {
        throw new KnotError(ErrorType.Conflict, `no template version matches '${space.templateRef || 'latest'}' for space '${space.name}'`);
      }
      const content = target.content as unknown as TemplateContent;
      const yaml = content.volumes ?? '';
      const ctx = await loadRenderContext(svc.store, renderSettingsOf(svc.config), space, facts.template);
      const desired = yaml.trim() ? renderVolumeDefinitions(yaml, ctx) : [];
      const existing = await svc.store.volumes.listOfSpace(space.id);
      const plan = planVolumes(desired, existing.map((v) => ({ id: v.volumeId, type: v.type })));
      const brief = (v: { id: string; name: string; type: 'csi' | 'host' }) => ({ id: v.id, name: v.name, type: v.type });
      return {
        status: 200,
        body: {
          spaceId: space.id,
          appliedVersion: space.appliedVersion,
          targetVersion: target.version,
          updateAvailable: updateAvailableFor(space, facts),
          create: plan.create.map(brief),
          keep: plan.keep.map(brief),
          remove: plan.remove.map((v) => ({ id: v.id, type: v.type })),
        },
      };
    },
  }),
];
