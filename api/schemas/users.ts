import { z } from 'zod';
import { nameString } from '../../core/names';
import { USER_ROLES } from '../../store/model';
import { isoTime } from './common';
import { quotaPatchSchema, quotaView } from './quotas';

/** The canonical IANA names this Node knows (Intl), UTC first: what the document lists. */
export const TIME_ZONES: readonly string[] = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((tz) => tz !== 'UTC')];

/**
 * An IANA time zone name, checked against what this Node knows (Intl). The document lists the
 * canonical names as an enum, so a client (or a fuzzer) picking from it is never refused; Intl's
 * aliases (US/Pacific, Etc/UTC) are accepted beside them.
 */
export const timezoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be an IANA time zone such as Europe/London or UTC' },
  )
  .meta({ id: 'TimeZone', enum: [...TIME_ZONES], description: 'an IANA time zone; aliases of the names listed (US/Pacific, Etc/UTC) are accepted too' });

export const usernameSchema = nameString('user');
const emailSchema = z.union([z.literal(''), z.email().max(255)]);

export const createUserBody = z
  .strictObject({
    username: usernameSchema,
    email: emailSchema.default(''),
    timezone: timezoneSchema.default('UTC'),
    role: z.enum(USER_ROLES).default('user'),
    active: z.boolean().default(true),
    groups: z.array(nameString('group')).max(100).optional().describe('group names to join'),
  })
  .meta({ id: 'CreateUser' });

export const updateUserBody = z
  .strictObject({
    email: emailSchema.optional(),
    timezone: timezoneSchema.optional(),
    role: z.enum(USER_ROLES).optional(),
    active: z.boolean().optional(),
    quota: quotaPatchSchema.optional().describe('limits on this user (core/quotas.ts); a null value removes that limit'),
  })
  .meta({ id: 'UpdateUser' });

export const userView = z
  .object({
    id: z.string(),
    username: z.string(),
    email: z.string(),
    timezone: z.string(),
    role: z.enum(USER_ROLES),
    active: z.boolean(),
    hasPassword: z.boolean().describe('whether the user can sign in to the web UI with a password'),
    groups: z.array(z.string()),
    quota: quotaView.optional().describe('the limits set on this user (admins and the user themselves see it)'),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'User' });

export const userList = z.object({ items: z.array(userView) }).meta({ id: 'UserList' });

export const whoamiView = z
  .object({ user: userView, tokenId: z.string().nullable(), sessionId: z.string().nullable(), isAdmin: z.boolean() })
  .meta({ id: 'Whoami' });

export const userWithTokenView = userView.extend({ token: z.string().optional().describe('shown once: the new user\'s first API token (when requested)') });
