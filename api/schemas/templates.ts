import { z } from 'zod';
import { parameterDefSchema } from '../../core/parameters';
import { scheduleSchema, templateContentSchema, templatePortSchema } from '../../core/template';
import { fieldErrorSchema, isoTime } from './common';

/** POST/PUT body: the template's content as core/template defines it (flat JSON). */
export const templateBody = templateContentSchema.meta({ id: 'TemplateInput' });

/** POST /templates/validate takes any object and reports every problem in a 200 answer. */
export const validateTemplateBody = z.record(z.string(), z.unknown()).meta({ id: 'TemplateValidateInput' });

export const jsonPatchOp = z
  .strictObject({
    op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
    path: z.string(),
    value: z.unknown().optional(),
    from: z.string().optional(),
  })
  .meta({ id: 'JsonPatchOperation' });
export const jsonPatchBody = z.array(jsonPatchOp).max(1000).meta({ id: 'JsonPatch' });
export const mergePatchBody = z.record(z.string(), z.unknown()).meta({ id: 'JsonMergePatch' });

export const versionSummary = z
  .object({ version: z.string(), contentHash: z.string(), createdAt: isoTime, createdBy: z.string().nullable() })
  .meta({ id: 'TemplateVersionSummary' });

export const templateView = z
  .object({
    id: z.string(),
    name: z.string(),
    displayName: z.string(),
    description: z.string(),
    type: z.enum(['nomad', 'manual']),
    job: z.string().optional(),
    volumes: z.string().optional(),
    groups: z.array(z.string()),
    parameters: z.array(parameterDefSchema),
    maxUptime: z.string().optional(),
    schedule: scheduleSchema.optional(),
    idleTimeout: z.string().optional(),
    startTimeout: z.string(),
    ports: z.array(templatePortSchema.meta({ id: 'TemplatePort' })).optional().describe('ports the template names; public ones are reachable over HTTP without signing in'),
    computeUnits: z.number().int().optional().describe("what a running space costs against its owner's computeUnits quota (default 1)"),
    storageUnits: z.number().int().optional().describe("what its volumes cost against storageUnits (default: their capacity_min summed, GiB rounded up)"),
    version: z.string().describe('latest version'),
    contentHash: z.string(),
    versions: z.array(versionSummary),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Template' });

export const templateList = z.object({ items: z.array(templateView) }).meta({ id: 'TemplateList' });
export const versionList = z
  .object({ items: z.array(versionSummary.extend({ content: z.record(z.string(), z.unknown()) })) })
  .meta({ id: 'TemplateVersionList' });

export const validationResult = z
  .object({ valid: z.boolean(), errors: z.array(fieldErrorSchema) })
  .meta({ id: 'TemplateValidation' });

/** A starter template shipped in examples/templates/, offered while the store has no template. */
export const starterView = z
  .object({
    name: z.string().describe('the folder under examples/templates/ and the name of the template it adds'),
    displayName: z.string(),
    description: z.string(),
    type: z.enum(['nomad', 'manual']),
  })
  .meta({ id: 'TemplateStarter' });
export const starterList = z
  .object({
    offered: z.boolean().describe('true while the store has no template: the UI offers these then'),
    items: z.array(starterView),
  })
  .meta({ id: 'TemplateStarterList' });
