import { actionsOf, refusalOf, roleAllows, sharedRoleOf, spaceRoleOf, type ShareGrant } from '../../../core/space-roles';

const space = { ownerId: 'alice' };
const bob = { userId: 'bob', isAdmin: false, groups: ['devs', 'ops'] };
const carol = { userId: 'carol', isAdmin: false, groups: [] };
const admin = { userId: 'root', isAdmin: true, groups: [] };

const toUser = (userId: string, role: ShareGrant['role']): ShareGrant => ({ userId, groupName: null, role });
const toGroup = (groupName: string, role: ShareGrant['role']): ShareGrant => ({ userId: null, groupName, role });

describe('spaceRoleOf', () => {
  it('the owner is owner, whatever the shares say', () => {
    expect(spaceRoleOf({ userId: 'alice', isAdmin: true, groups: ['devs'] }, space, [toGroup('devs', 'viewer')])).toBe('owner');
  });

  it('an admin who is not the owner is admin', () => {
    expect(spaceRoleOf(admin, space, [])).toBe('admin');
  });

  it('a stranger has no role', () => {
    expect(spaceRoleOf(carol, space, [toUser('bob', 'user'), toGroup('devs', 'user')])).toBeNull();
  });

  it('a user share gives its role', () => {
    expect(spaceRoleOf(bob, space, [toUser('bob', 'viewer')])).toBe('viewer');
    expect(spaceRoleOf(bob, space, [toUser('bob', 'user')])).toBe('user');
  });

  it("a share to any of the caller's groups counts", () => {
    expect(spaceRoleOf(bob, space, [toGroup('ops', 'viewer')])).toBe('viewer');
    expect(spaceRoleOf(carol, space, [toGroup('ops', 'viewer')])).toBeNull();
  });

  it('the strongest share wins, in any order', () => {
    expect(sharedRoleOf(bob, [toUser('bob', 'viewer'), toGroup('devs', 'user')])).toBe('user');
    expect(sharedRoleOf(bob, [toGroup('devs', 'user'), toUser('bob', 'viewer')])).toBe('user');
    expect(sharedRoleOf(bob, [toGroup('devs', 'viewer'), toGroup('ops', 'viewer')])).toBe('viewer');
  });
});

describe('roleAllows', () => {
  it.each([
    ['viewer', ['view'], ['operate', 'connect', 'manage']],
    ['user', ['view', 'operate', 'connect'], ['manage']],
    ['admin', ['view', 'operate', 'connect', 'manage'], []],
    ['owner', ['view', 'operate', 'connect', 'manage'], []],
  ] as const)('%s may %j and not %j', (role, yes, no) => {
    for (const a of yes) expect(roleAllows(role, a)).toBe(true);
    for (const a of no) expect(roleAllows(role, a)).toBe(false);
    expect(actionsOf(role)).toEqual(yes);
  });

  it('no role allows nothing', () => {
    expect(roleAllows(null, 'view')).toBe(false);
  });
});

describe('refusalOf', () => {
  it('names the role, what it allows and what is needed', () => {
    const m = refusalOf('viewer', 'operate', 'dev');
    expect(m).toContain("space 'dev' is viewer");
    expect(m).toContain('see it');
    expect(m).toContain('the user role');
    expect(refusalOf('user', 'manage', 'dev')).toContain('owner or an admin');
  });
});
