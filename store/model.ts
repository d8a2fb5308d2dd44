/**
 * What the store keeps, as every driver (store/sql, store/redis) reads and writes it: the records,
 * the new-record and patch shapes, and the list filters with their cursors. Timestamps are
 * milliseconds since the epoch.
 */
import type { AgentLinkRecord, AgentServices } from '../core/agent-status';
import type { KnotEvent, StepOutcome } from '../core/events';
import type { OperationStatus, OperationType, SpacePhase } from '../core/lifecycle';
import type { ShareRole } from '../core/space-roles';

export { SPACE_PHASES, OPERATION_TYPES, OPERATION_STATUSES, type SpacePhase, type OperationStatus, type OperationType } from '../core/lifecycle';

// ---- users, groups, credentials ----

export const USER_ROLES = ['admin', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface User {
  id: string;
  username: string;
  email: string;
  timezone: string;
  role: UserRole;
  active: boolean;
  /** whether a password is set (web sign-in); the hash itself is read only through `users.getPasswordHash` */
  hasPassword: boolean;
  createdAt: number;
  updatedAt: number;
}

export type NewUser = Omit<User, 'createdAt' | 'updatedAt' | 'hasPassword'>;
export type UserPatch = Partial<Pick<User, 'email' | 'timezone' | 'role' | 'active'>>;

/**
 * Groups and their members. Group names are immutable: templates refer to groups by name, so a
 * rename would silently change who may use a template.
 */
export interface Group {
  id: string;
  name: string;
  description: string;
  /** user ids, sorted */
  memberIds: string[];
  createdAt: number;
  updatedAt: number;
}

export interface NewGroup {
  id: string;
  name: string;
  description: string;
  memberIds: string[];
}

export interface GroupPatch {
  description?: string;
  memberIds?: string[];
}

/**
 * API tokens. Only the sha256 of a token is stored (plus a short prefix so a user can tell tokens
 * apart); the token itself is shown once, when it is created.
 */
export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
  createdAt: number;
}

export interface NewToken {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  prefix: string;
  expiresAt: number | null;
}

/**
 * An SSH public key on a user's account (what the agent puts into the space's authorized_keys).
 * Public, so stored as is; checked and normalised by core/ssh-keys.ts before it gets here.
 */
export interface SshKey {
  id: string;
  userId: string;
  name: string;
  /** ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, … */
  type: string;
  /** `<type> <base64>`, normalised, without the comment */
  publicKey: string;
  /** `SHA256:<base64 without padding>` of the key blob, as OpenSSH prints it; unique per user */
  fingerprint: string;
  createdAt: number;
}

export type NewSshKey = Omit<SshKey, 'createdAt'>;

export const SIGN_IN_METHODS = ['password', 'token'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

/**
 * Web sign-in sessions. The cookie carries a random secret; only its sha256 is stored. A session
 * lives until it expires, is revoked (sign-out, an admin, a password change) or its user is
 * deactivated.
 */
export interface Session {
  id: string;
  userId: string;
  csrfToken: string;
  method: SignInMethod;
  userAgent: string;
  ip: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

export interface NewSession {
  id: string;
  userId: string;
  sessionHash: string;
  csrfToken: string;
  method: SignInMethod;
  userAgent: string;
  ip: string;
  expiresAt: number;
}

// ---- templates ----

export interface TemplateRecord {
  id: string;
  name: string;
  displayName: string;
  description: string;
  type: 'nomad' | 'manual';
  groups: string[];
  latestVersion: string;
  latestHash: string;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

/** An immutable version: the full content, so a space renders from exactly the version it applied. */
export interface TemplateVersionRecord<C = Record<string, unknown>> {
  id: string;
  templateId: string;
  version: string;
  contentHash: string;
  content: C;
  createdBy: string | null;
  createdAt: number;
}

export interface NewTemplateVersion<C> {
  versionId: string;
  version: string;
  contentHash: string;
  content: C;
  createdBy: string | null;
}

export interface TemplateMeta {
  name: string;
  displayName: string;
  description: string;
  type: 'nomad' | 'manual';
  groups: string[];
}

/** Template variables (`.var.NAME`). Protected values are stored as AES-256-GCM ciphertext. */
export interface TemplateVariable {
  id: string;
  name: string;
  /** plaintext, or `v1:` ciphertext when protected */
  value: string;
  protected: boolean;
  createdAt: number;
  updatedAt: number;
}

export type NewVariable = Omit<TemplateVariable, 'createdAt' | 'updatedAt'>;
export interface VariablePatch {
  value?: string;
  protected?: boolean;
}

// ---- spaces ----

/** A space. A deleted space keeps its record (audit, retention) but frees its name. */
export interface Space {
  id: string;
  name: string;
  ownerId: string;
  templateId: string;
  templateRef: string;
  /** password parameter values are stored encrypted (`v1:...`) */
  parameters: Record<string, string | number | boolean>;
  shell: string;
  agentUrl: string | null;
  phase: SpacePhase;
  reason: string;
  message: string;
  appliedVersion: string | null;
  appliedHash: string | null;
  nomadJobId: string | null;
  lastOperationId: string | null;
  startedAt: number | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

/** What a new space is made of; the rest of its record starts empty (phase `stopped`). */
export type NewSpace = Pick<Space, 'id' | 'name' | 'ownerId' | 'templateId' | 'templateRef' | 'parameters' | 'shell' | 'agentUrl'>;

/** The record of a space just created: stopped, nothing applied, no operation yet. */
export function newSpaceRecord(s: NewSpace, now: number): Space {
  return {
    ...s,
    phase: 'stopped',
    reason: '',
    message: '',
    appliedVersion: null,
    appliedHash: null,
    nomadJobId: null,
    lastOperationId: null,
    startedAt: null,
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
  };
}

export type SpacePatch = Partial<
  Pick<
    Space,
    'templateRef' | 'parameters' | 'shell' | 'agentUrl' | 'phase' | 'reason' | 'message' | 'appliedVersion' | 'appliedHash' | 'nomadJobId' | 'lastOperationId' | 'startedAt' | 'templateId'
  >
>;

/** Cursor of the space list: the last item of the previous page, in (createdAt, id) order. */
export interface SpaceCursor {
  createdAt: number;
  id: string;
}

export interface SpaceFilter {
  ownerId?: string;
  templateId?: string;
  phase?: SpacePhase;
  /**
   * names starting with this (a prefix, not a substring: every store answers it from an ordered
   * index of names, where a substring would read every live name)
   */
  namePrefix?: string;
  /** (createdAt, id) descending: the newest first, `after` then means older than the cursor */
  newestFirst?: boolean;
  after?: SpaceCursor;
  limit: number;
}

/** A running space as the auto-stop sweep sees it. */
export interface RunningSpace {
  id: string;
  ownerId: string;
  templateId: string;
  /** the applied template version; null when none was recorded */
  version: string | null;
  startedAt: number;
}

export interface RunningSpaceCursor {
  startedAt: number;
  id: string;
}

/** What the orphan-job sweep needs to know of a space (core/sweeps decides with it). */
export type { SpaceFacts } from '../core/sweeps';

// ---- volumes ----

/**
 * Which Nomad volumes belong to which space, and which operation created them. A record is written
 * before the volume is created in Nomad, so a crash between the two can never leak a volume that
 * no compensation knows about.
 */
export interface SpaceVolume {
  spaceId: string;
  volumeId: string;
  type: 'csi' | 'host';
  /** Nomad's id for host volumes (Nomad assigns it); equals volumeId for CSI */
  nomadId: string | null;
  createdByOperation: string | null;
  createdAt: number;
}

/** knot's record of a Nomad volume, with the deletion time of the space that holds it. */
export interface VolumeRecord extends SpaceVolume {
  spaceDeletedAt: number | null;
}

// ---- operations ----

/** One lifecycle request = one workflow run. */
export interface Operation {
  id: string;
  spaceId: string;
  type: OperationType;
  requestedBy: string;
  status: OperationStatus;
  reason: string;
  errorType: string | null;
  errorMessage: string | null;
  workflowId: string;
  runId: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  deadlineAt: number | null;
  /**
   * The space's phase and Nomad job as its workflow first began (`markRunning`), so a begin that
   * runs again (a local activity whose worker died before its result was recorded) answers the
   * same although the first run has since moved the space on. Null before it began, and for
   * operations that began before knot recorded it (absent on Redis records written before then).
   */
  phaseAtBegin: SpacePhase | null;
  jobIdAtBegin: string | null;
}

/** The space's facts as an operation began (`markRunning`). */
export interface OperationBegin {
  phase: SpacePhase;
  jobId: string | null;
}

export interface NewOperation {
  id: string;
  spaceId: string;
  type: OperationType;
  requestedBy: string;
  reason?: string;
  workflowId: string;
  deadlineAt: number | null;
}

export interface OperationOutcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  errorType?: string | null;
  errorMessage?: string | null;
}

export interface OverdueCursor {
  deadlineAt: number;
  id: string;
}

/** Cursor of the never-started operations: the last item of the previous page, in (createdAt, id) order. */
export interface CreatedCursor {
  createdAt: number;
  id: string;
}

/** One step of an operation's timeline, kept for good. */
export interface OperationStep {
  seq: number;
  name: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: StepOutcome;
  message: string | null;
}

/** How a step ends. */
export type StepClosing = Exclude<StepOutcome, 'running' | 'retrying'>;

// ---- events ----

export type { EventFacts } from '../core/events';

export interface StoredEvent {
  id: number;
  /** who may see it (admins see all) */
  ownerId: string | null;
  event: KnotEvent;
}

export interface EventQuery {
  limit: number;
  /** only events with id ≤ upTo */
  upTo?: number;
  /** only this owner's */
  ownerId?: string;
}

/** Events kept for Last-Event-ID replay; older ones answer a `reset`. */
export const DEFAULT_EVENT_RETENTION = 20_000;

// ---- audit ----

export const AUDIT_OUTCOMES = ['ok', 'refused', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Who did what to which resource, when, and whether it was allowed and worked. */
export interface AuditEntry {
  id: number;
  at: number;
  actorId: string | null;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  outcome: AuditOutcome;
  detail: Record<string, unknown>;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface AuditFilter {
  actor?: string;
  action?: string;
  resourceType?: string;
  resourceId?: string;
  outcome?: AuditOutcome;
  since?: number;
  until?: number;
  /** entries with an id below this (newest-first pagination) */
  beforeId?: number;
  limit: number;
}

// ---- agent tokens and link state ----

export const AGENT_TOKEN_KINDS = ['start', 'manual'] as const;
/**
 * `start`: minted when the space's job is registered, revoked when it is stopped; `manual`: issued
 * on request for a manual space's agent, which the user runs themselves. A space holds at most one
 * of each; issuing another replaces it.
 */
export type AgentTokenKind = (typeof AGENT_TOKEN_KINDS)[number];

/** Who may link as a space's agent. Only the sha256 of the token is stored. */
export interface AgentToken {
  id: string;
  spaceId: string;
  kind: AgentTokenKind;
  createdAt: number;
}

export interface NewAgentToken {
  id: string;
  spaceId: string;
  kind: AgentTokenKind;
  tokenHash: string;
}

export type { AgentServices } from '../core/agent-status';

/** What the holder of a space's link writes on every refresh. */
export interface AgentReport {
  services: AgentServices;
  /** ms since the epoch of the last user activity the agent saw (the store keeps the newest) */
  lastActivity?: number | null;
  version?: string | null;
  /** open sessions (terminal, later SSH and ports) */
  sessions?: number;
  /** when the link came up; the stored one (or now) when not given */
  since?: number | null;
  /** the API replica holding the link (its advertised URL) */
  holder?: string;
}

/** What the store keeps of a space's link (core/agent-status.ts decides the status from it). */
export type AgentState = AgentLinkRecord;

// ---- space shares ----

export type { ShareRole };

/** A space shared with a user or a group (exactly one of `userId`, `groupName`). */
export interface SpaceShare {
  id: string;
  spaceId: string;
  userId: string | null;
  /** group names never change (see Group), so a share names its group */
  groupName: string | null;
  role: ShareRole;
  /** the user who shared it */
  createdBy: string;
  createdAt: number;
}

export type NewSpaceShare = Omit<SpaceShare, 'createdAt'>;
