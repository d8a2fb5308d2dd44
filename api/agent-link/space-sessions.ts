/**
 * Who holds each open way into a space (terminal, SSH connection, forwarded port, app WebSocket),
 * so that taking access away (a share revoked) closes that user's sessions at once. Kept in this
 * API process's memory, as the sessions themselves are (they ride the agent link this process
 * holds). Whichever replica serves the revoke, the `space.shared` event it appends reaches the
 * replica holding the link through the events log (registry.ts watchPhases), which closes them.
 */
import { roleAllows, spaceRoleOf, type ShareGrant, type SpaceCaller } from '../../core/space-roles';
import type { Space } from '../../store/model';
import type { Actor } from '../context';
import { callerOf } from '../space-roles';

/** The close code of a session whose user lost access to the space (4000 + 403). */
export const ACCESS_REVOKED_CLOSE = 4403;

export interface SessionHandle {
  close(code: number, reason: string): void;
}

interface Tracked {
  caller: SpaceCaller;
  handle: SessionHandle;
}

export class SpaceSessions {
  private readonly bySpace = new Map<string, Set<Tracked>>();

  /** Records an open session of `actor` in the space; the answer forgets it (call it when the session ends). */
  track(spaceId: string, actor: Actor, handle: SessionHandle): () => void {
    const entry: Tracked = { caller: callerOf(actor), handle };
    let set = this.bySpace.get(spaceId);
    if (!set) this.bySpace.set(spaceId, (set = new Set()));
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.bySpace.get(spaceId) === set) this.bySpace.delete(spaceId);
    };
  }

  count(spaceId: string): number {
    return this.bySpace.get(spaceId)?.size ?? 0;
  }

  /**
   * Closes the sessions whose user may no longer get into the space (its shares as they are now;
   * a missing or deleted space: everyone's); the user ids whose sessions were closed.
   */
  closeLost(spaceId: string, space: Pick<Space, 'ownerId' | 'deletedAt'> | null, shares: readonly ShareGrant[]): string[] {
    const closed: string[] = [];
    for (const t of [...(this.bySpace.get(spaceId) ?? [])]) {
      const role = space && space.deletedAt === null ? spaceRoleOf(t.caller, space, shares) : null;
      if (roleAllows(role, 'connect')) continue;
      closed.push(t.caller.userId);
      t.handle.close(ACCESS_REVOKED_CLOSE, 'your access to this space was revoked');
    }
    return closed;
  }
}
