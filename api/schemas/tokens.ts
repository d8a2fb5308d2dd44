import { z } from 'zod';
import { isoTime, nullableIsoTime } from './common';

export const createTokenBody = z
  .strictObject({
    name: z.string().min(1).max(128),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('ISO-8601; absent = never expires'),
  })
  .meta({ id: 'CreateToken' });

export const tokenView = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().describe('the first characters of the token, to tell tokens apart'),
    expiresAt: nullableIsoTime,
    revokedAt: nullableIsoTime,
    lastUsedAt: nullableIsoTime,
    createdAt: isoTime,
  })
  .meta({ id: 'Token' });

export const createdTokenView = tokenView.extend({ token: z.string().describe('the secret: shown once, never again') }).meta({ id: 'CreatedToken' });

export const tokenList = z.object({ items: z.array(tokenView) }).meta({ id: 'TokenList' });
