import { z } from 'zod';
import { nameString } from '../../core/names';
import { isoTime } from './common';

const members = z.array(z.string()).max(10_000).describe('usernames');

export const createGroupBody = z
  .strictObject({
    name: nameString('group'),
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
