/**
 * A very short-lived memory of the *positive* checks behind plain HTTP requests to web ports
 * (port-requests.ts): who a credential is, and which space a caller's path names with their role
 * on it. A page load is dozens of requests with the same credential to the same space; without
 * this each one read the token, the user, their groups and the space from the store (two thirds
 * of the API's CPU per request, bench/RESULTS.md §11).
 *
 * The bound, and why a revoked credential or share is still refused:
 * - an entry lives at most GRANT_TTL_MS (1 s) after the store said yes; a token revoked or
 *   expired, a session signed out, a user deactivated or their groups changed is refused by this
 *   process at most 1 s later (by every other check at once: WebSockets, port streams, the API);
 * - the space entries of a space are dropped as soon as this process learns of a `space.phase`,
 *   `space.deleted`, `space.shared` or `space.transferred` event for it (LinkRegistry's event
 *   watch, which runs while this process holds any agent link), so a share revoked or a space
 *   stopped anywhere is refused here within the event log's poll (150 ms), 1 s at the most;
 *   spaces whose link another replica holds are not remembered at all;
 * - refusals are never remembered (a fixed token works at once; the failure limiter sees every
 *   failure), nor anything but plain HTTP: WebSockets and port streams are checked every time.
 *
 * Memory: at most MAX_ENTRIES of each kind; past that the map is emptied (it refills from the store).
 */
import type { Space } from '../../store/model';
import type { SpaceRole } from '../../core/space-roles';
import type { Actor } from '../context';

export const GRANT_TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

interface Entry<T> {
  value: T;
  until: number;
}

export interface SpaceGrant {
  space: Space;
  role: SpaceRole;
}

export class PortGrants {
  private readonly actors = new Map<string, Entry<Actor>>();
  private readonly spaces = new Map<string, Entry<SpaceGrant>>();

  constructor(
    /** a monotonic-enough clock in ms (tests pass their own) */
    private readonly clock: () => number = () => performance.now(),
    readonly ttlMs = GRANT_TTL_MS,
  ) {}

  /** the caller a credential (`kind`: bearer or session, `hash`: its sha256) was found to be, if still fresh */
  actor(key: string): Actor | null {
    return this.fresh(this.actors, key);
  }

  rememberActor(key: string, actor: Actor): void {
    this.put(this.actors, key, actor);
  }

  /** the space (and role) a caller's reference resolved to, if still fresh */
  space(actor: Actor, owner: string | undefined, space: string): SpaceGrant | null {
    return this.fresh(this.spaces, spaceKey(actor, owner, space));
  }

  rememberSpace(actor: Actor, owner: string | undefined, space: string, grant: SpaceGrant): void {
    this.put(this.spaces, spaceKey(actor, owner, space), grant);
  }

  /** who may reach the space, or its phase, changed: its entries go */
  spaceChanged(spaceId: string): void {
    for (const [k, e] of this.spaces) if (e.value.space.id === spaceId) this.spaces.delete(k);
  }

  clear(): void {
    this.actors.clear();
    this.spaces.clear();
  }

  private fresh<T>(map: Map<string, Entry<T>>, key: string): T | null {
    const e = map.get(key);
    if (!e) return null;
    if (this.clock() < e.until) return e.value;
    map.delete(key);
    return null;
  }

  private put<T>(map: Map<string, Entry<T>>, key: string, value: T): void {
    if (map.size >= MAX_ENTRIES) map.clear();
    map.set(key, { value, until: this.clock() + this.ttlMs });
  }
}

function spaceKey(actor: Actor, owner: string | undefined, space: string): string {
  // the actor's credential (token or session) and the user: a different credential of the same user is a different entry
  return `${actor.tokenId ?? ''}\n${actor.sessionId ?? ''}\n${actor.user.id}\n${owner ?? ''}\n${space}`;
}
