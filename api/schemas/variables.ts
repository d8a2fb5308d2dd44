import { z } from 'zod';
import { nameString } from '../../core/names';
import { isoTime } from './common';

export const createVariableBody = z
  .strictObject({
    name: nameString('variable'),
    value: z.string().max(64 * 1024),
    protected: z.boolean().default(false),
  })
  .meta({ id: 'CreateVariable' });

export const updateVariableBody = z
  .strictObject({ value: z.string().max(64 * 1024).optional(), protected: z.boolean().optional() })
  .meta({ id: 'UpdateVariable' });

export const variableView = z
  .object({
    id: z.string(),
    name: z.string(),
    value: z.string().nullable().describe('null for protected variables: their value is never returned'),
    protected: z.boolean(),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Variable' });

export const variableList = z.object({ items: z.array(variableView) }).meta({ id: 'VariableList' });
