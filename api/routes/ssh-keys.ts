/**
 * SSH public keys on a user's account: the caller's own under `/users/me/ssh-keys`, anyone's for
 * admins under `/users/:id/ssh-keys` (by id or username; another user's keys are 404 to a
 * non-admin, as the user is). The agents of the user's running spaces get the keys
 * (`svc.sshKeysChanged`).
 *
 * What the caller sends is never echoed back, logged or audited: a private key pasted by mistake
 * is refused by core/ssh-keys.ts with a message that contains none of it, and the audit entry
 * carries the fingerprint of an accepted key only.
 */
import type { z } from 'zod';
import { ErrorType, KnotError } from '../../core/errors';
import { defaultSshKeyName, parseSshPublicKey } from '../../core/ssh-keys';
import type { Space, SshKey, User } from '../../store/model';
import type { Actor, Services } from '../context';
import { requireUser } from '../lookup';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, iso, noContent, problems } from '../schemas/common';
import { addSshKeyBody, sshKeyList, sshKeyView } from '../schemas/ssh-keys';
import { API_BASE } from '../views';

export function sshKeyJson(k: SshKey): z.infer<typeof sshKeyView> {
  return { id: k.id, name: k.name, type: k.type, fingerprint: k.fingerprint, publicKey: k.publicKey, createdAt: iso(k.createdAt) };
}

/** Whose keys a request is about: the caller (`me`), or the user named in the path when visible. */
type Owner = (svc: Services, actor: Actor, params: Record<string, string>) => Promise<User>;

const caller: Owner = async (_svc, actor) => actor.user;

const namedUser: Owner = async (svc, actor, params) => {
  const id = params.id ?? '';
  const u = await requireUser(svc.store, id);
  if (!actor.isAdmin && u.id !== actor.user.id) throw new KnotError(ErrorType.NotFound, `user '${id}' not found`);
  return u;
};

/**
 * The agents learn of the change: the links this process holds at once (the hook), every other
 * replica's through a `space.ssh_keys` event for each running space the user may reach by SSH.
 * A failure never fails the request (the keys are stored; an agent gets them on its next link).
 */
function announce(svc: Services, userId: string): void {
  try {
    svc.sshKeysChanged?.(userId);
  } catch (e) {
    svc.logger.error({ err: e, userId }, 'could not announce changed SSH keys');
  }
  void announceToReplicas(svc, userId).catch((e: unknown) => svc.logger.error({ err: e, userId }, 'could not announce changed SSH keys to the other replicas'));
}

async function announceToReplicas(svc: Services, userId: string): Promise<void> {
  const { store } = svc;
  const shares = await store.shares.listForRecipient(userId, await store.groups.namesOfUser(userId));
  const ids = new Set(shares.filter((s) => s.role === 'user').map((s) => s.spaceId));
  let after: Space | undefined;
  for (;;) {
    const page = await store.spaces.list({ ownerId: userId, phase: 'running', limit: 200, ...(after ? { after: { createdAt: after.createdAt, id: after.id } } : {}) });
    for (const s of page) ids.add(s.id);
    if (page.length < 200) break;
    after = page[page.length - 1];
  }
  const facts = await store.spaces.facts([...ids]);
  for (const id of ids) {
    if (facts.get(id)?.phase !== 'running') continue;
    await store.events.append({ type: 'space.ssh_keys', spaceId: id, operationId: null }, svc.now());
  }
}

/** The three routes of one base path; `whose` and `note` word their summaries. */
function routesFor(base: string, owner: Owner, whose: string, note: string): RouteDef[] {
  const notFound = owner === caller ? [] : [404];
  return [
    defineRoute({
      method: 'get',
      path: base,
      tag: 'ssh-keys',
      summary: `The SSH public keys on ${whose} account, oldest first${note}`,
      auth: 'user',
      responses: { 200: { description: 'the keys', schema: sshKeyList }, ...problems(...notFound, ...AUTH_PROBLEMS) },
      async handler({ svc, actor, params }) {
        const u = await owner(svc, actor, params);
        return { status: 200, body: { items: (await svc.store.sshKeys.listOfUser(u.id)).map(sshKeyJson) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: base,
      tag: 'ssh-keys',
      summary: `Add an SSH public key to ${whose} account${note}`,
      description:
        'One OpenSSH public key line (`ssh-ed25519 AAAA… comment`); the comment is the default name. A private key is refused (400) and not stored; ' +
        'a key already on the account is a 409 naming `publicKey`.',
      auth: 'user',
      body: { 'application/json': addSshKeyBody },
      audit: { action: 'ssh_key.create', resourceType: 'ssh_key' },
      responses: { 201: { description: 'added', schema: sshKeyView }, ...problems(400, ...notFound, 409, 413, 415, ...AUTH_PROBLEMS) },
      async handler({ svc, actor, params, body, audit }) {
        const u = await owner(svc, actor, params);
        audit.resourceId = null;
        audit.detail = { userId: u.id };
        const parsed = parseSshPublicKey(body.publicKey);
        audit.detail = { userId: u.id, fingerprint: parsed.fingerprint, type: parsed.type };
        const key = await svc.store.sshKeys.insert(
          { id: svc.newId(), userId: u.id, name: body.name ?? defaultSshKeyName(parsed.comment, parsed.type), type: parsed.type, publicKey: parsed.publicKey, fingerprint: parsed.fingerprint },
          svc.now(),
        );
        audit.resourceId = key.id;
        announce(svc, u.id);
        return { status: 201, body: sshKeyJson(key), headers: { Location: `${base.replace(':id', encodeURIComponent(params.id ?? ''))}/${key.id}` } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/:keyId`,
      tag: 'ssh-keys',
      summary: `Remove an SSH key from ${whose} account${note}`,
      auth: 'user',
      audit: { action: 'ssh_key.delete', resourceType: 'ssh_key', resourceIdParam: 'keyId' },
      responses: { 204: noContent, ...problems(404, ...AUTH_PROBLEMS) },
      async handler({ svc, actor, params, audit }) {
        const u = await owner(svc, actor, params);
        const keyId = params.keyId ?? '';
        const key = (await svc.store.sshKeys.listOfUser(u.id)).find((k) => k.id === keyId);
        if (!key || !(await svc.store.sshKeys.delete(u.id, key.id))) throw new KnotError(ErrorType.NotFound, `SSH key '${keyId}' not found`);
        audit.detail = { userId: u.id, fingerprint: key.fingerprint, type: key.type };
        announce(svc, u.id);
        return { status: 204 };
      },
    }),
  ];
}

// `me` before `:id`: the literal path is the more specific one (a user named "me" is reached by id)
export const sshKeyRoutes: RouteDef[] = [
  ...routesFor(`${API_BASE}/users/me/ssh-keys`, caller, "the caller's", ''),
  ...routesFor(`${API_BASE}/users/:id/ssh-keys`, namedUser, "a user's", ' (admins; users: their own)'),
];
