/** Space shares and transfer (api/routes/space-shares.ts). */
import { z } from 'zod';
import { nameString } from '../../core/names';
import { SHARE_ROLES } from '../../core/space-roles';
import { isoTime } from './common';

export const createShareBody = z
  .strictObject({
    user: nameString('user').optional().describe('share with this username'),
    group: nameString('group').optional().describe('or with every member of this group'),
    role: z.enum(SHARE_ROLES).describe('viewer: sees the space, its events and operations; user: also starts, stops, restarts it and gets in (terminal, SSH, ports, Code Server)'),
  })
  .superRefine((b, ctx) => {
    if ((b.user === undefined) === (b.group === undefined)) {
      ctx.addIssue({ code: 'custom', path: [b.user === undefined ? 'user' : 'group'], message: 'give exactly one of user and group' });
    }
  })
  .meta({ id: 'CreateShare' });

export const shareView = z
  .object({
    id: z.string(),
    spaceId: z.string(),
    user: z.string().nullable().describe('the username of a user share'),
    userId: z.string().nullable(),
    group: z.string().nullable().describe('the group of a group share'),
    role: z.enum(SHARE_ROLES),
    createdBy: z.string().describe('who shared it (username)'),
    createdAt: isoTime,
  })
  .meta({ id: 'Share' });

export const shareList = z.object({ items: z.array(shareView) }).meta({ id: 'ShareList' });

export const transferBody = z.strictObject({ to: nameString('user').describe('the username of the new owner') }).meta({ id: 'TransferSpace' });
