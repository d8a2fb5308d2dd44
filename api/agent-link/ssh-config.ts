/**
 * What the server tells a space's SSH server (link/protocol.ts SshConfig): the space's host key,
 * derived from server.encrypt (core/ssh-host-key.ts, never stored), and the owner's public keys.
 * Pushed when a link comes up and whenever the owner's keys change (Services.sshKeysChanged).
 */
import { deriveSshHostKey } from '../../core/ssh-host-key';
import type { SshConfig } from '../../link/protocol';
import type { Services } from '../context';

/** The config for a space, or null when the server has no encryption key to derive a host key from. */
export async function sshConfigOf(svc: Pick<Services, 'store' | 'config'>, spaceId: string, ownerId: string): Promise<SshConfig | null> {
  if (!svc.config.server.encrypt) return null;
  const { privateKey } = deriveSshHostKey(svc.config.server.encrypt, spaceId);
  const keys = await svc.store.sshKeys.listOfUser(ownerId);
  return { hostKey: privateKey, authorizedKeys: keys.map((k) => k.publicKey) };
}
