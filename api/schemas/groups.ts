import { z } from 'zod';
import { NAME_PATTERNS } from '../../core/names';
import { isoTime } from './common';

const members = z.array(z.string()).max(10_000).describe('usernames');

export const createGroupBody = z
  .strictObject({
    name: z.string().regex(NAME_PATTERNS.group, 'must be 1-64 lowercase letters, digits, _ or -, starting and ending with a letter or digit'),
    description: z.string().max(1024).default(''),
    members: members.default([]),
  })
  .meta({ id: 'CreateGroup' });

export const updateGroupBody = z
  .strictObject({ description: z.string().max(1024).optional(), members: members.optional() })
  .meta({ id: 'UpdateGroup' });

export const groupView = z
  .object({ id: z.string(), name: z.string(), description: z.string(), members: z.array(z.string()), createdAt: isoTime, updatedAt: isoTime })
  .meta({ id: 'Group' });

export const groupList = z.object({ items: z.array(groupView) }).meta({ id: 'GroupList' });
