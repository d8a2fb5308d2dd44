/** The 1 s memory of positive port checks (api/agent-link/port-grants.ts): its bound and its invalidation. */
import { GRANT_TTL_MS, PortGrants } from '../../../api/agent-link/port-grants';
import type { Actor } from '../../../api/context';
import type { Space } from '../../../store/model';

const actor = (id: string, tokenId: string | null = 'tok1'): Actor => ({ user: { id, username: id } as Actor['user'], tokenId, sessionId: null, groups: [], isAdmin: false });
const space = (id: string) => ({ id, name: 'dev', ownerId: 'u1', phase: 'running', deletedAt: null }) as unknown as Space;

describe('PortGrants', () => {
  let now = 0;
  const grants = () => new PortGrants(() => now);
  beforeEach(() => (now = 1000));

  it('remembers a caller for at most GRANT_TTL_MS (1 s)', () => {
    const g = grants();
    const a = actor('u1');
    g.rememberActor('b:hash', a);
    expect(g.actor('b:hash')).toBe(a);
    now += GRANT_TTL_MS - 1;
    expect(g.actor('b:hash')).toBe(a);
    now += 1;
    expect(g.actor('b:hash')).toBeNull();
    expect(GRANT_TTL_MS).toBeLessThanOrEqual(1000);
  });

  it('keeps spaces apart by credential, owner and name, and forgets a space whose phase or access changed', () => {
    const g = grants();
    const a = actor('u1');
    g.rememberSpace(a, 'alice', 'dev', { space: space('s1'), role: 'owner' });
    g.rememberSpace(a, undefined, 'other', { space: space('s2'), role: 'owner' });
    expect(g.space(a, 'alice', 'dev')?.space.id).toBe('s1');
    // another token of the same user is checked on its own
    expect(g.space(actor('u1', 'tok2'), 'alice', 'dev')).toBeNull();
    expect(g.space(a, undefined, 'dev')).toBeNull();
    g.spaceChanged('s1');
    expect(g.space(a, 'alice', 'dev')).toBeNull();
    expect(g.space(a, undefined, 'other')?.space.id).toBe('s2');
    now += GRANT_TTL_MS;
    expect(g.space(a, undefined, 'other')).toBeNull();
  });

  it('clears everything on clear()', () => {
    const g = grants();
    g.rememberActor('k', actor('u1'));
    g.clear();
    expect(g.actor('k')).toBeNull();
  });
});
