import { z } from 'zod';
import { QUOTA_KINDS } from '../../core/quotas';

export { quotaPatchSchema } from '../../core/quotas';

const limit = z.number().int().nullable();

/** The limits set on a user or group (null: not set there). */
export const quotaView = z
  .object({ maxSpaces: limit, computeUnits: limit, storageUnits: limit })
  .meta({ id: 'Quota', description: 'limits set on this user or group; null = not set here' });

export const quotaUsageView = z
  .object({
    user: z.string(),
    items: z.array(
      z.object({
        quota: z.enum(QUOTA_KINDS),
        usage: z.number().int(),
        limit: limit.describe('the effective limit; null = no limit'),
        source: z.string().nullable().describe('where the limit comes from: `user`, `group:<name>`, null when none'),
      }),
    ),
  })
  .meta({ id: 'QuotaUsage', description: "a user's usage against their effective limits: their own where set, else the most generous of their groups'" });
