/**
 * The Redis key layout, in one place. Every key starts with the store's prefix (default `knot:`),
 * so several stores (tests, two installations) share one Redis without seeing each other.
 *
 * Records are JSON documents at their own key; uniqueness is a key per unique value pointing at the
 * owner's id (two writers racing for a name both WATCH that key, so one EXEC fails); ordered lists
 * are sorted sets of score 0 whose members `<16-digit number>:<id>` sort lexicographically exactly
 * as SQL's `(number, id)` order does, so ZRANGEBYLEX pages with the same cursors.
 */
import type { SpacePhase } from '../model';

/** Numbers (ms timestamps) zero-padded to this many digits sort as text the way they sort as numbers. */
const PAD = 16;

/**
 * The text form of a non-negative integer that sorts lexicographically like the number. Negative
 * or fractional values (never written by knot: timestamps are epoch milliseconds) are clamped and
 * truncated so they cannot break the ordering of the rest.
 */
export function padNumber(n: number): string {
  return String(Math.max(0, Math.floor(n))).padStart(PAD, '0');
}

/** A member of an ordered index: `(n, id)` order as text. */
export function orderedMember(n: number, id: string): string {
  return `${padNumber(n)}:${id}`;
}

/** The id in an ordered index member. */
export function idOfMember(member: string): string {
  return member.slice(PAD + 1);
}

/** ZRANGEBYLEX bounds: everything, a member excluded (strictly after it as a minimum, before it as a maximum), strictly below a number. */
export const LEX_MIN = '-';
export const LEX_MAX = '+';
export const lexExclusive = (member: string): string => `(${member}`;
/** members whose number is < n: `(<padded n>` sorts after every `<smaller padded>:<id>` and before `<padded n>:<id>` */
export const lexBelowNumber = (n: number): string => `(${padNumber(n)}`;

export class Keys {
  constructor(readonly prefix: string) {}

  private k(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  // ---- schema ----
  get schema(): string {
    return this.k('schema');
  }

  // ---- users, groups, credentials ----
  user = (id: string) => this.k('user', id);
  userByName = (username: string) => this.k('name', 'user', username);
  get users(): string {
    return this.k('users');
  }
  tokensOfUser = (userId: string) => this.k('user', userId, 'tokens');
  sessionsOfUser = (userId: string) => this.k('user', userId, 'sessions');
  groupsOfUser = (userId: string) => this.k('user', userId, 'groups');

  group = (id: string) => this.k('group', id);
  groupByName = (name: string) => this.k('name', 'group', name);
  get groups(): string {
    return this.k('groups');
  }

  token = (id: string) => this.k('token', id);
  tokenByHash = (sha: string) => this.k('hash', 'token', sha);
  /** set: the ids of a user's SSH keys */
  sshKeysOfUser = (userId: string) => this.k('user', userId, 'ssh-keys');
  sshKey = (id: string) => this.k('ssh-key', id);
  /** a key (by fingerprint) is on a user at most once */
  sshKeyByFingerprint = (userId: string, fingerprint: string) => this.k('name', 'ssh-key', userId, fingerprint);
  session = (id: string) => this.k('session', id);
  sessionByHash = (sha: string) => this.k('hash', 'session', sha);

  // ---- templates and variables ----
  template = (id: string) => this.k('template', id);
  /** hash: version → JSON version record */
  templateVersions = (id: string) => this.k('template', id, 'versions');
  /** live templates only: a deleted template frees its name */
  templateByName = (name: string) => this.k('name', 'template', name);
  /** every template id, deleted ones included */
  get templates(): string {
    return this.k('templates');
  }
  /** hash: name → JSON variable */
  get variables(): string {
    return this.k('variables');
  }

  // ---- spaces ----
  space = (id: string) => this.k('space', id);
  /** live spaces only: a deleted space frees its name */
  spaceByName = (ownerId: string, name: string) => this.k('name', 'space', ownerId, name);
  /** ordered by (createdAt, id), live spaces */
  get liveSpaces(): string {
    return this.k('spaces', 'live');
  }
  /** live spaces by name: members `<name> <createdAt:id>` (schema 2) */
  get spacesByName(): string {
    return this.k('spaces', 'names');
  }
  spacesOfOwner = (ownerId: string) => this.k('spaces', 'owner', ownerId);
  spacesOfTemplate = (templateId: string) => this.k('spaces', 'template', templateId);
  spacesInPhase = (phase: SpacePhase) => this.k('spaces', 'phase', phase);
  /** ordered by (startedAt, id): phase running with a start time */
  get runningSpaces(): string {
    return this.k('spaces', 'running');
  }
  /** ordered by (deletedAt, id) */
  get deletedSpaces(): string {
    return this.k('spaces', 'deleted');
  }
  /** set: every space id of an owner, deleted ones included */
  everySpaceOfOwner = (ownerId: string) => this.k('spaces', 'owner-all', ownerId);

  // ---- space shares ----
  spaceShare = (id: string) => this.k('share', id);
  /** set: the share ids of a space */
  sharesOfSpace = (spaceId: string) => this.k('space', spaceId, 'shares');
  /** set: the share ids to a user */
  sharesToUser = (userId: string) => this.k('shares', 'user', userId);
  /** set: the share ids to a group (by name) */
  sharesToGroup = (groupName: string) => this.k('shares', 'group', groupName);
  /** a space is shared with a recipient (`user:<id>` or `group:<name>`) at most once */
  shareByRecipient = (spaceId: string, recipient: string) => this.k('name', 'share', spaceId, recipient);

  // ---- volumes ----
  /** hash: volumeId → JSON volume record */
  volumesOfSpace = (spaceId: string) => this.k('space', spaceId, 'volumes');
  /** set of the space ids holding a record of this knot volume id */
  volume = (volumeId: string) => this.k('volume', volumeId);
  /** set of the space ids holding a record with this Nomad id */
  nomadVolume = (nomadId: string) => this.k('volume-nomad', nomadId);

  // ---- operations and steps ----
  operation = (id: string) => this.k('op', id);
  /** JSON array of the operation's steps */
  steps = (operationId: string) => this.k('op', operationId, 'steps');
  /** ordered by (createdAt, id), every operation of the space */
  operationsOfSpace = (spaceId: string) => this.k('space', spaceId, 'ops');
  /** set: the space's operation ids still pending or running */
  activeOperationsOfSpace = (spaceId: string) => this.k('space', spaceId, 'ops', 'active');
  /** ordered by (deadlineAt, id): pending or running operations with a deadline */
  get operationDeadlines(): string {
    return this.k('ops', 'overdue');
  }
  /** ordered by (createdAt, id): operations still pending without a run (schema 3) */
  get operationsNotStarted(): string {
    return this.k('ops', 'not-started');
  }

  // ---- logs ----
  get eventCounter(): string {
    return this.k('events', 'seq');
  }
  /** score = id, member `<id>:<JSON {ownerId, event without id}>` */
  get events(): string {
    return this.k('events');
  }
  get auditCounter(): string {
    return this.k('audit', 'seq');
  }
  /** score = id, member `<id>:<JSON entry without id>` */
  get audit(): string {
    return this.k('audit');
  }
  /** score = at, member = id: finds what `pruneBefore` drops without reading the entries */
  get auditByTime(): string {
    return this.k('audit', 'at');
  }

  // ---- agents ----
  agent = (spaceId: string) => this.k('agent', spaceId);
  agentToken = (id: string) => this.k('agent-token', id);
  agentTokenByHash = (sha: string) => this.k('hash', 'agent-token', sha);
  /** the id of the space's token of this kind (at most one each) */
  agentTokenOfSpace = (spaceId: string, kind: string) => this.k('space', spaceId, 'agent-token', kind);
}
