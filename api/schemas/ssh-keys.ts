import { z } from 'zod';
import { MAX_SSH_KEY_INPUT, MAX_SSH_KEY_NAME, SSH_KEY_NAME_PATTERN, SSH_KEY_TYPES } from '../../core/ssh-keys';
import { isoTime } from './common';

export const addSshKeyBody = z
  .strictObject({
    // checked by core/ssh-keys.ts, not here: its messages never echo the text (a private key pasted by mistake)
    publicKey: z.string().meta({
      maxLength: MAX_SSH_KEY_INPUT,
      description: `one OpenSSH public key line: \`<type> <base64> [comment]\`; types: ${SSH_KEY_TYPES.join(', ')} (RSA at least 2048 bits)`,
    }),
    name: z
      .string()
      .trim()
      .regex(SSH_KEY_NAME_PATTERN, `must be 1-${MAX_SSH_KEY_NAME} characters without control characters`)
      // trimmed before the pattern applies: the document refuses what trims to nothing
      .meta({ minLength: 1, maxLength: MAX_SSH_KEY_NAME, not: { pattern: '^\\s*$' }, description: "default: the key's comment, else its type" })
      .optional(),
  })
  .meta({ id: 'AddSshKey' });

export const sshKeyView = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.string(),
    fingerprint: z.string().describe('SHA256:<base64>, as ssh-keygen -lf prints it'),
    publicKey: z.string().describe('`<type> <base64>`, without the comment'),
    createdAt: isoTime,
  })
  .meta({ id: 'SshKey' });

export const sshKeyList = z.object({ items: z.array(sshKeyView) }).meta({ id: 'SshKeyList' });
