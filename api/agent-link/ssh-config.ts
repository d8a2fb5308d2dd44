/**
 * What the server tells a space's SSH server (link/protocol.ts SshConfig): the space's host key,
 * derived from server.encrypt (core/ssh-host-key.ts, never stored), and the public keys it
 * accepts: the owner's, and those of every user the space is shared with in the `user` role
 * (directly or through a group) while the share lasts. Pushed when a link comes up, whenever one
 * of those users' keys change (Services.sshKeysChanged) and when the shares change
 * (Services.spaceAccessChanged).
 */
import { deriveSshHostKey } from '../../core/ssh-host-key';
import type { SshConfig } from '../../link/protocol';
import type { Store } from '../../store/store';
import type { Services } from '../context';

/** The owner and the users a `user` share lets in, the owner first. */
export async function sshUsersOf(store: Store, spaceId: string, ownerId: string): Promise<string[]> {
  const shares = (await store.shares.listOfSpace(spaceId)).filter((s) => s.role === 'user');
  const groupNames = shares.flatMap((s) => (s.groupName !== null ? [s.groupName] : []));
  const groups = groupNames.length > 0 ? await store.groups.getByNames(groupNames) : [];
  const recipients = [...new Set([...shares.flatMap((s) => (s.userId !== null ? [s.userId] : [])), ...groups.flatMap((g) => g.memberIds)])].filter((id) => id !== ownerId);
  // a deactivated recipient signs in nowhere, SSH included
  const active = recipients.length > 0 ? (await store.users.getByIds(recipients)).filter((u) => u.active).map((u) => u.id) : [];
  return [ownerId, ...recipients.filter((id) => active.includes(id))];
}

/** The config for a space, or null when the server has no encryption key to derive a host key from. */
export async function sshConfigOf(svc: Pick<Services, 'store' | 'config'>, spaceId: string, ownerId: string): Promise<SshConfig | null> {
  if (!svc.config.server.encrypt) return null;
  const { privateKey } = deriveSshHostKey(svc.config.server.encrypt, spaceId);
  const userIds = await sshUsersOf(svc.store, spaceId, ownerId);
  const keys = await svc.store.sshKeys.listOfUsers(userIds);
  const authorizedKeys = [...new Set(userIds.flatMap((id) => (keys.get(id) ?? []).map((k) => k.publicKey)))];
  return { hostKey: privateKey, authorizedKeys };
}
