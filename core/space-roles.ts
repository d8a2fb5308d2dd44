/**
 * Who may do what to a space: the caller's role on it, from ownership, the admin role and the
 * space's shares, and which actions each role allows. Pure: the API's gate (api/space-views.ts)
 * and the agent's ways in (api/agent-link) load the facts and ask here.
 *
 *   viewer  sees the space, its events and its operations
 *   user    also starts, stops and restarts it, and gets in (terminal, SSH, ports, Code Server)
 *   owner / admin  also update, delete, share and transfer it
 */

/** What a share grants. */
export const SHARE_ROLES = ['viewer', 'user'] as const;
export type ShareRole = (typeof SHARE_ROLES)[number];

/** A caller's role on a space, weakest first after none. */
export const SPACE_ROLES = ['viewer', 'user', 'admin', 'owner'] as const;
export type SpaceRole = (typeof SPACE_ROLES)[number];

export const SPACE_ACTIONS = ['view', 'operate', 'connect', 'manage'] as const;
/**
 * view: the space, its events and operations; operate: start, stop, restart, cancel an operation;
 * connect: terminal, SSH, ports, Code Server; manage: update, delete, share, transfer, agent token.
 */
export type SpaceAction = (typeof SPACE_ACTIONS)[number];

const ALLOWED: Record<SpaceRole, readonly SpaceAction[]> = {
  viewer: ['view'],
  user: ['view', 'operate', 'connect'],
  admin: SPACE_ACTIONS,
  owner: SPACE_ACTIONS,
};

/** What an action is called in a refusal. */
const ACTION_WORDS: Record<SpaceAction, string> = {
  view: 'see it',
  operate: 'start, stop or restart it',
  connect: 'open a terminal, SSH or its ports',
  manage: 'update, delete, share or transfer it',
};

/** One share as the rules see it: to a user (by id) or to a group (by name; group names never change). */
export interface ShareGrant {
  userId: string | null;
  groupName: string | null;
  role: ShareRole;
}

export interface SpaceCaller {
  userId: string;
  isAdmin: boolean;
  /** names of the caller's groups */
  groups: readonly string[];
}

function shareRank(role: ShareRole): number {
  return SHARE_ROLES.indexOf(role);
}

/** The strongest role the shares give this caller (a user share or any of their groups'), or null. */
export function sharedRoleOf(caller: SpaceCaller, shares: readonly ShareGrant[]): ShareRole | null {
  let best: ShareRole | null = null;
  for (const s of shares) {
    const mine = s.userId !== null ? s.userId === caller.userId : s.groupName !== null && caller.groups.includes(s.groupName);
    if (mine && (best === null || shareRank(s.role) > shareRank(best))) best = s.role;
  }
  return best;
}

/** The caller's role on a space: owner, admin, else the strongest share; null when they may not even see it. */
export function spaceRoleOf(caller: SpaceCaller, space: { ownerId: string }, shares: readonly ShareGrant[]): SpaceRole | null {
  if (space.ownerId === caller.userId) return 'owner';
  if (caller.isAdmin) return 'admin';
  return sharedRoleOf(caller, shares);
}

export function roleAllows(role: SpaceRole | null, action: SpaceAction): boolean {
  return role !== null && ALLOWED[role].includes(action);
}

export function actionsOf(role: SpaceRole): readonly SpaceAction[] {
  return ALLOWED[role];
}

/** Why a caller who sees the space may not do this: names their role and what it allows. */
export function refusalOf(role: SpaceRole, action: SpaceAction, spaceName: string): string {
  const allowed = ALLOWED[role].map((a) => ACTION_WORDS[a]).join('; ');
  return `your role on space '${spaceName}' is ${role}: it allows you to ${allowed}; to ${ACTION_WORDS[action]} you need ${action === 'manage' ? 'to be its owner or an admin' : 'the user role'}`;
}
