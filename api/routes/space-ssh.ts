/**
 * GET /spaces/:id/ssh: how to reach a space with SSH, and its host key to pin. The key is derived
 * from server.encrypt (core/ssh-host-key.ts), so this answer is the same on every replica and after
 * every restart; clients write `knownHostsLine` into their own known_hosts and connect with
 * StrictHostKeyChecking on. Only the public half is ever served.
 */
import { z } from 'zod';
import { ErrorType, KnotError } from '../../core/errors';
import { deriveSshHostKey, knownHostsLine, sshHostAlias } from '../../core/ssh-host-key';
import { defineRoute, type RouteDef } from '../route';
import { AUTH_PROBLEMS, problems } from '../schemas/common';
import { getSpaceQuery } from '../schemas/spaces';
import { findVisibleSpace } from '../space-views';

export const spaceSshView = z
  .object({
    spaceId: z.string(),
    space: z.string().describe("the space's name"),
    owner: z.string().describe("the owner's username, the SSH user name to give"),
    hostKey: z.string().describe('the public host key, "ssh-ed25519 AAAA…"'),
    fingerprint: z.string().describe('SHA256:… of the host key, as OpenSSH shows it'),
    sshConfigHost: z.string().describe('the Host name (and HostKeyAlias) for ~/.ssh/config: <space>.knot, or <space>.<owner>.knot for another user\'s space'),
    knownHostsLine: z.string().describe('the line that pins the host key under sshConfigHost'),
    proxyCommand: z.string().describe("OpenSSH's ProxyCommand through the knot CLI"),
    commands: z.object({ ssh: z.string(), sshConfig: z.string() }).describe('CLI commands that connect, and that write ~/.ssh/config'),
  })
  .meta({ id: 'SpaceSsh' });

export const spaceSshRoutes: RouteDef[] = [
  defineRoute({
    method: 'get',
    path: '/api/v1/spaces/:id/ssh',
    tag: 'spaces',
    summary: "How to reach the space with SSH, and its host key to pin (owner, admin, or a `user` share)",
    description:
      'The connection itself is the WebSocket GET /api/v1/spaces/:id/ssh/stream (`knot forward ssh`, a ProxyCommand); SSH authenticates with the owner\'s SSH keys. ' +
      'The host key is derived from server.encrypt and the space id: it never changes unless server.encrypt does. 409 when the server has no server.encrypt.',
    auth: 'user',
    query: getSpaceQuery,
    responses: { 200: { description: 'the SSH facts', schema: spaceSshView }, ...problems(400, 403, 404, 409, ...AUTH_PROBLEMS) },
    async handler({ svc, actor, params, query }) {
      const space = await findVisibleSpace(svc, actor, params.id ?? '', query.owner, 'connect');
      if (!svc.config.server.encrypt) throw new KnotError(ErrorType.Conflict, 'SSH into spaces needs server.encrypt (the host keys derive from it); ask the administrator');
      const owner = space.ownerId === actor.user.id ? actor.user : await svc.store.users.get(space.ownerId);
      const ownerName = owner?.username ?? space.ownerId;
      const { publicKey, fingerprint } = deriveSshHostKey(svc.config.server.encrypt, space.id);
      const alias = sshHostAlias(space.name, ownerName, actor.user.username);
      const ownerFlag = ownerName === actor.user.username ? '' : ` --owner ${ownerName}`;
      return {
        status: 200,
        body: {
          spaceId: space.id,
          space: space.name,
          owner: ownerName,
          hostKey: publicKey,
          fingerprint,
          sshConfigHost: alias,
          knownHostsLine: knownHostsLine(alias, publicKey),
          proxyCommand: 'knot forward ssh %h',
          commands: { ssh: `knot ssh ${space.name}${ownerFlag}`, sshConfig: 'knot ssh-config' },
        },
      };
    },
  }),
];
