/**
 * The spaces shared with a caller, as the space list pages them: the same filters and the same
 * (createdAt, id) order and cursor as the store's list, so a page can merge them with the caller's
 * own spaces. Shares are few per user, so they are read whole and filtered here rather than
 * indexed by every filter in every store.
 */
import type { Space, SpaceFilter } from '../store/model';
import type { Actor, Services } from './context';

function inOrder(newestFirst: boolean | undefined) {
  const dir = newestFirst ? -1 : 1;
  return (a: Space, b: Space) => dir * (a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function afterCursor(s: Space, f: SpaceFilter): boolean {
  if (!f.after) return true;
  const cmp = s.createdAt - f.after.createdAt || (s.id < f.after.id ? -1 : s.id > f.after.id ? 1 : 0);
  return f.newestFirst ? cmp < 0 : cmp > 0;
}

/** Up to `f.limit` live spaces of others shared with the caller (by user or group) matching `f`, in list order after the cursor. */
export async function sharedSpacesPage(svc: Pick<Services, 'store'>, actor: Actor, f: SpaceFilter): Promise<Space[]> {
  const shares = await svc.store.shares.listForRecipient(actor.user.id, actor.groups);
  const ids = [...new Set(shares.map((s) => s.spaceId))];
  const spaces = (await Promise.all(ids.map((id) => svc.store.spaces.get(id)))).filter(
    (s): s is Space =>
      s !== null &&
      s.deletedAt === null &&
      s.ownerId !== actor.user.id &&
      (!f.ownerId || s.ownerId === f.ownerId) &&
      (!f.templateId || s.templateId === f.templateId) &&
      (!f.phase || s.phase === f.phase) &&
      (!f.namePrefix || s.name.startsWith(f.namePrefix)) &&
      afterCursor(s, f),
  );
  return spaces.sort(inOrder(f.newestFirst)).slice(0, f.limit);
}

/** Two pages in list order made one (no space twice), at most `limit`. */
export function mergePages(a: readonly Space[], b: readonly Space[], f: Pick<SpaceFilter, 'newestFirst' | 'limit'>): Space[] {
  const seen = new Set<string>();
  return [...a, ...b]
    .filter((s) => (seen.has(s.id) ? false : (seen.add(s.id), true)))
    .sort(inOrder(f.newestFirst))
    .slice(0, f.limit);
}
