import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../passwords';
import { isoTime } from './common';
import { whoamiView } from './users';

export const passwordSchema = z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH);

export const loginBody = z
  .union([
    z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(PASSWORD_MAX_LENGTH) }),
    z.strictObject({ token: z.string().min(1).max(512) }),
  ])
  .meta({ id: 'Login', description: 'username and password, or an API token' });

export const loginView = whoamiView
  .extend({ csrfToken: z.string().describe('repeat in X-CSRF-Token on requests that change state (also in the knot_csrf cookie)'), expiresAt: isoTime })
  .meta({ id: 'LoginResult' });

export const sessionView = z
  .object({
    id: z.string(),
    method: z.enum(['password', 'token']),
    userAgent: z.string(),
    ip: z.string(),
    current: z.boolean().describe('the session this request came with'),
    createdAt: isoTime,
    lastUsedAt: isoTime,
    expiresAt: isoTime,
  })
  .meta({ id: 'Session' });

export const sessionList = z.object({ items: z.array(sessionView) }).meta({ id: 'SessionList' });

export const setPasswordBody = z
  .strictObject({
    password: passwordSchema,
    currentPassword: z.string().max(PASSWORD_MAX_LENGTH).optional().describe('required when users change their own password and already have one'),
  })
  .meta({ id: 'SetPassword' });
