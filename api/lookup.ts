/** Finding the resources a request names, with the visibility rules applied (others' → 404). */
import { ErrorType, KnotError, notFound } from '../core/errors';
import { isId } from '../core/names';
import type { Store } from '../store/store';
import type { User } from '../store/model';
import type { Actor } from './context';

/** A user by id or username. */
export async function findUser(store: Store, idOrName: string): Promise<User | null> {
  return (isId(idOrName) ? await store.users.get(idOrName) : null) ?? (await store.users.getByUsername(idOrName));
}

export async function requireUser(store: Store, idOrName: string): Promise<User> {
  const u = await findUser(store, idOrName);
  if (!u) throw notFound('user', idOrName);
  return u;
}

/** Usernames → ids; unknown ones are field errors under `path`. */
export async function userIdsOf(store: Store, usernames: string[], path: string): Promise<string[]> {
  const unique = [...new Set(usernames)];
  const users = await store.users.getByUsernames(unique);
  const byName = new Map(users.map((u) => [u.username, u.id]));
  const errors = unique.flatMap((n) => (byName.has(n) ? [] : [{ path: `${path}[${usernames.indexOf(n)}]`, message: `unknown user '${n}'` }]));
  if (errors.length) throw new KnotError(ErrorType.Validation, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
  return unique.map((n) => byName.get(n)!);
}

/** The template's groups allow the actor (empty groups = everyone; admins always). */
export function templateAllows(actor: Pick<Actor, 'isAdmin' | 'groups'>, groups: readonly string[]): boolean {
  return actor.isAdmin || groups.length === 0 || groups.some((g) => actor.groups.includes(g));
}
