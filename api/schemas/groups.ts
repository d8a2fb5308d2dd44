import { z } from 'zod';
import { nameString } from '../../core/names';
import { isoTime } from './common';
import { quotaPatchSchema, quotaView } from './quotas';

const members = z.array(nameString('user')).max(10_000).describe('usernames');

export const createGroupBody = z
  .strictObject({
    name: nameString('group'),
    description: z.string().max(1024).default(''),
    members: members.default([]),
  })
  .meta({ id: 'CreateGroup' });

export const updateGroupBody = z
  .strictObject({
    description: z.string().max(1024).optional(),
    members: members.optional(),
    quota: quotaPatchSchema.optional().describe("limits for the group's members (the most generous group limit applies where a user has none); null removes one"),
  })
  .meta({ id: 'UpdateGroup' });

export const groupView = z
  .object({ id: z.string(), name: z.string(), description: z.string(), members: z.array(z.string()), quota: quotaView.optional(), createdAt: isoTime, updatedAt: isoTime })
  .meta({ id: 'Group' });

export const groupList = z.object({ items: z.array(groupView) }).meta({ id: 'GroupList' });
