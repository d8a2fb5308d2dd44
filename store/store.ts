/**
 * The one store interface. Every caller (API, activities, sweeps, CLI admin commands, tests,
 * benchmarks) reads and writes knot's data through a `Store`; each backend is a driver in a sibling
 * folder — store/sql (MySQL/MariaDB and SQLite through knex) and store/redis (ioredis) — so a
 * fourth backend is a fourth folder implementing this file. store/open.ts picks the driver the
 * configuration names.
 *
 * Rules every driver keeps (tests/integration/store-conformance.test.ts checks them on each):
 * - ids are given by the caller; `insert` of an id that exists answers the existing record where
 *   the method says so (retried activities find their own write);
 * - names are unique where the model says so (users, groups, templates, variables, a space name
 *   per owner, token and session hashes), and two writers racing for one name: exactly one wins,
 *   the other gets a `conflict` KnotError naming the field;
 * - a method that writes several records writes all or none; `transaction` does the same for a
 *   caller's sequence of writes;
 * - lists come in the same order with the same cursors and filters on every driver.
 */
import type {
  AgentState,
  AgentReport,
  AgentToken,
  AgentTokenKind,
  NewAgentToken,
  ApiToken,
  AuditEntry,
  AuditFilter,
  EventFacts,
  EventQuery,
  Group,
  GroupPatch,
  NewAuditEntry,
  NewGroup,
  NewOperation,
  NewSession,
  NewSpace,
  NewTemplateVersion,
  NewToken,
  NewUser,
  NewVariable,
  Operation,
  OperationBegin,
  OperationOutcome,
  OperationStep,
  OverdueCursor,
  CreatedCursor,
  RunningSpace,
  RunningSpaceCursor,
  Session,
  Space,
  SpaceFacts,
  SpaceFilter,
  SpacePatch,
  SpaceShare,
  NewSpaceShare,
  SpaceVolume,
  SshKey,
  NewSshKey,
  StepClosing,
  StoredEvent,
  TemplateMeta,
  TemplateRecord,
  TemplateVariable,
  TemplateVersionRecord,
  User,
  UserPatch,
  VariablePatch,
  VolumeRecord,
} from './model';
import type { Quota, SpaceUnits } from '../core/quotas';
import type { Autostart } from '../core/autostart';
import type { NewWebhookDelivery, NewWebhookEndpoint, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEndpointPatch } from './webhook-model';

export type StoreKind = 'sqlite' | 'mysql' | 'redis';

export interface UserRepository {
  /** conflict (field `username`) when the name is taken */
  insert(u: NewUser, now: number): Promise<User>;
  get(id: string): Promise<User | null>;
  getByUsername(username: string): Promise<User | null>;
  getByIds(ids: readonly string[]): Promise<User[]>;
  getByUsernames(usernames: readonly string[]): Promise<User[]>;
  /** by username */
  list(): Promise<User[]>;
  count(): Promise<number>;
  countActiveAdmins(): Promise<number>;
  update(id: string, patch: UserPatch, now: number): Promise<void>;
  /** Hard delete with the user's tokens, sessions, SSH keys and group memberships; the caller has checked no space refers to the user. */
  delete(id: string): Promise<void>;
  /** The stored password hash (PHC string), or null when the user has no password. */
  getPasswordHash(id: string): Promise<string | null>;
  setPasswordHash(id: string, hash: string | null, now: number): Promise<void>;
  /** Which of these users have a password. */
  withPassword(ids: readonly string[]): Promise<Set<string>>;
}

export interface GroupRepository {
  /** by name */
  list(): Promise<Group[]>;
  get(id: string): Promise<Group | null>;
  getByName(name: string): Promise<Group | null>;
  getByNames(names: readonly string[]): Promise<Group[]>;
  /** names of the groups a user belongs to, sorted */
  namesOfUser(userId: string): Promise<string[]>;
  /** conflict (field `name`) when the name is taken */
  insert(g: NewGroup, now: number): Promise<Group>;
  update(id: string, patch: GroupPatch, now: number): Promise<void>;
  delete(id: string): Promise<void>;
}

export interface TokenRepository {
  insert(t: NewToken, now: number): Promise<ApiToken>;
  get(id: string): Promise<ApiToken | null>;
  /** the token with this hash when it is usable at `now` (not revoked, not expired) */
  findUsableByHash(tokenHash: string, now: number): Promise<ApiToken | null>;
  /** newest first; revoked tokens included so a user can see what was revoked and when */
  listOfUser(userId: string): Promise<ApiToken[]>;
  revoke(id: string, now: number): Promise<void>;
  /** how many were revoked */
  revokeAllOfUser(userId: string, now: number): Promise<number>;
  /** written at most once per `granularityMs` (LAST_USED_GRANULARITY_MS) per token, so every request is not a write */
  touch(id: string, now: number, granularityMs?: number): Promise<void>;
}

/** How stale a token's or session's `lastUsedAt` may be before a use writes it again. */
export const LAST_USED_GRANULARITY_MS = 60_000;

/**
 * Records a use of a token or session when its `lastUsedAt` (as just read) is older than the
 * granularity: the drivers' touch is conditional too, but skipping the statement keeps the hot
 * path (every API and port request) free of a write.
 */
export async function touchIfStale(repo: { touch(id: string, now: number, granularityMs?: number): Promise<void> }, row: { id: string; lastUsedAt: number | null }, now: number): Promise<void> {
  if (row.lastUsedAt !== null && row.lastUsedAt >= now - LAST_USED_GRANULARITY_MS) return;
  await repo.touch(row.id, now, LAST_USED_GRANULARITY_MS);
}

export interface SessionRepository {
  insert(s: NewSession, now: number): Promise<Session>;
  get(id: string): Promise<Session | null>;
  findUsableByHash(sessionHash: string, now: number): Promise<Session | null>;
  /** a user's sessions that still work, newest first */
  listActiveOfUser(userId: string, now: number): Promise<Session[]>;
  revoke(id: string, now: number): Promise<void>;
  /** every session of a user except `keepId`; how many were revoked */
  revokeAllOfUser(userId: string, now: number, keepId?: string | null): Promise<number>;
  touch(id: string, now: number, granularityMs?: number): Promise<void>;
}

/** SSH public keys on users' accounts. */
export interface SshKeyRepository {
  /** conflict (field `publicKey`) when a key of this fingerprint is already on the user (field `id` when the id is taken) */
  insert(k: NewSshKey, now: number): Promise<SshKey>;
  /** oldest first */
  listOfUser(userId: string): Promise<SshKey[]>;
  /** grouped by user, each oldest first; users without keys are absent */
  listOfUsers(userIds: readonly string[]): Promise<Map<string, SshKey[]>>;
  /** false when the user has no key of this id */
  delete(userId: string, id: string): Promise<boolean>;
}

export interface TemplateRepository {
  get(id: string): Promise<TemplateRecord | null>;
  /** the live template of this name */
  getByName(name: string): Promise<TemplateRecord | null>;
  /** live templates by name */
  list(): Promise<TemplateRecord[]>;
  /** many by id, deleted ones included */
  getByIds(ids: readonly string[]): Promise<TemplateRecord[]>;
  /** oldest first */
  listVersions<C = Record<string, unknown>>(templateId: string): Promise<TemplateVersionRecord<C>[]>;
  getVersion<C = Record<string, unknown>>(templateId: string, version: string): Promise<TemplateVersionRecord<C> | null>;
  /** the content of each (template, version) pair that exists, keyed `<templateId>@<version>` */
  versionContents(pairs: readonly (readonly [templateId: string, version: string])[]): Promise<Map<string, Record<string, unknown>>>;
  /** the template and its first version together; conflict (field `name`) when the name is taken */
  insert<C>(id: string, meta: TemplateMeta, first: NewTemplateVersion<C>, now: number): Promise<TemplateRecord>;
  /**
   * Updates the metadata and adds `next` (when the content changed) together; conflict when the
   * latest version is no longer `expectedLatest` (two edits deriving the same next version).
   */
  addVersion<C>(templateId: string, expectedLatest: string, meta: TemplateMeta, next: NewTemplateVersion<C> | null, now: number): Promise<TemplateRecord>;
  /** frees the name; versions stay for the spaces' history */
  markDeleted(id: string, now: number): Promise<void>;
}

export interface VariableRepository {
  /** by name */
  list(): Promise<TemplateVariable[]>;
  get(name: string): Promise<TemplateVariable | null>;
  /** conflict (field `name`) when the name is taken */
  insert(v: NewVariable, now: number): Promise<TemplateVariable>;
  update(name: string, patch: VariablePatch, now: number): Promise<void>;
  delete(name: string): Promise<boolean>;
}

export interface SpaceRepository {
  /** created `stopped`; idempotent on id (a retried activity finds its own); conflict (field `name`) when the owner has a live space of this name */
  insert(s: NewSpace, now: number): Promise<Space>;
  /** deleted spaces included */
  get(id: string): Promise<Space | null>;
  /** not-found KnotError unless the space exists and is not deleted */
  require(id: string): Promise<Space>;
  /** the owner's live space of this name */
  getByName(ownerId: string, name: string): Promise<Space | null>;
  /** live spaces in (createdAt, id) order (descending with `newestFirst`) after the cursor */
  list(f: SpaceFilter): Promise<Space[]>;
  update(id: string, patch: SpacePatch, now: number): Promise<void>;
  /** phase `deleted`, name freed, job forgotten */
  markDeleted(id: string, now: number): Promise<void>;
  countUsingTemplate(templateId: string): Promise<number>;
  countOwnedBy(userId: string, includeDeleted: boolean): Promise<number>;
  /** one page of running spaces in (startedAt, id) order after the cursor (auto-stop sweep) */
  listRunning(after: RunningSpaceCursor | null, limit: number): Promise<RunningSpace[]>;
  /** phase, deletion and job of each of these spaces that exists (orphan-job sweep) */
  facts(ids: readonly string[]): Promise<Map<string, SpaceFacts>>;
  /**
   * A space left in a transitional phase by this (dead) operation becomes `failed` with the
   * reason; a space a later operation has since taken over is left alone.
   */
  failLeftByOperation(spaceId: string, operationId: string, reason: string, message: string, now: number): Promise<void>;
  /**
   * Up to `limit` ids of spaces deleted before `before`, oldest first, that hold no volume record
   * any more: a record is knot's only proof that a Nomad volume is its own, so a space keeps it
   * (and is kept) until the cleanup sweep has seen the volume gone.
   */
  listDeletedBefore(before: number, limit: number): Promise<string[]>;
  /**
   * Gives a live space to another owner (its record only: volumes, operations and shares keep the
   * space id); conflict (field `to`) when the new owner has a live space of this name.
   */
  transfer(id: string, newOwnerId: string, now: number): Promise<void>;
  /** forgets deleted spaces for good: their volume records, operations and steps, agent state and tokens, the spaces */
  purgeDeleted(ids: readonly string[]): Promise<void>;
}

/**
 * Who a space is shared with (api/routes/space-shares.ts; the rules are core/space-roles.ts). A
 * space has at most one share per user and one per group.
 */
export interface SpaceShareRepository {
  /** conflict (field `user` or `group`) when the space is already shared with that recipient */
  insert(s: NewSpaceShare, now: number): Promise<SpaceShare>;
  get(id: string): Promise<SpaceShare | null>;
  /** oldest first */
  listOfSpace(spaceId: string): Promise<SpaceShare[]>;
  /** the shares of these spaces, grouped by space (each oldest first); spaces without shares are absent */
  listOfSpaces(spaceIds: readonly string[]): Promise<Map<string, SpaceShare[]>>;
  /** every share to this user or to any of these groups (the spaces shared with a caller), oldest first */
  listForRecipient(userId: string, groupNames: readonly string[]): Promise<SpaceShare[]>;
  /** false when there is no share of this id */
  delete(id: string): Promise<boolean>;
  /** every share of a space (transfer, purge); how many */
  deleteOfSpace(spaceId: string): Promise<number>;
}

export interface VolumeRepository {
  /** by volume id */
  listOfSpace(spaceId: string): Promise<SpaceVolume[]>;
  /** grouped by space, each by volume id; spaces without volumes are absent */
  listOfSpaces(spaceIds: readonly string[]): Promise<Map<string, SpaceVolume[]>>;
  get(spaceId: string, volumeId: string): Promise<SpaceVolume | null>;
  /** which space (if any) holds a record of this volume id */
  owner(volumeId: string): Promise<string | null>;
  /** idempotent; a later call may fill in the Nomad id */
  record(v: Omit<SpaceVolume, 'createdAt'>, now: number): Promise<void>;
  forget(spaceId: string, volumeId: string): Promise<void>;
  /** the records of these Nomad volumes (by knot volume id or Nomad id), keyed by both */
  records(names: readonly string[]): Promise<Map<string, VolumeRecord>>;
  /** up to `limit` records of spaces deleted before `before`, oldest deletion first */
  recordsOfDeletedSpaces(before: number, limit: number): Promise<VolumeRecord[]>;
}

export interface OperationRepository {
  /** `pending` */
  insert(op: NewOperation, now: number): Promise<Operation>;
  get(id: string): Promise<Operation | null>;
  getMany(ids: readonly string[]): Promise<Map<string, Operation>>;
  /** only an operation whose workflow never started (its start is being undone) */
  delete(id: string): Promise<void>;
  /** newest first */
  listOfSpace(spaceId: string, limit?: number): Promise<Operation[]>;
  /** the operation of this space that is still pending or running, if any (the newest) */
  active(spaceId: string, exceptId?: string): Promise<Operation | null>;
  /**
   * true when this call moved it from pending to running (its first start), recording `begin` then
   * (never overwritten afterwards); a finished one never moves
   */
  markRunning(id: string, runId: string, now: number, begin?: OperationBegin): Promise<boolean>;
  /** true when this call finished it (not when it was finished already: retries, replays) */
  finish(id: string, outcome: OperationOutcome, now: number): Promise<boolean>;
  /**
   * Fails it as `operation_not_started` only while it is still pending with no run recorded, in one
   * step: a run that began since the caller looked (markRunning) keeps it. True when this call failed it.
   */
  failNeverStarted(id: string, message: string, now: number): Promise<boolean>;
  /** which of these spaces have an operation pending or running */
  activeSpaceIds(spaceIds: readonly string[]): Promise<Set<string>>;
  /** operations still pending or running past their deadline, in (deadlineAt, id) order after the cursor */
  listOverdue(now: number, after: OverdueCursor | null, limit: number): Promise<Operation[]>;
  /**
   * operations still `pending` without a run that were created before `before`, in (createdAt, id)
   * order after the cursor: requests whose workflow may never have started
   */
  listNeverStarted(before: number, after: CreatedCursor | null, limit: number): Promise<Operation[]>;
}

export interface StepRepository {
  /**
   * Opens a step (idempotent: false when it exists). The workflow runs its steps one at a time, so
   * a step still open when the next starts was interrupted: it is closed as `closeOpenAs`.
   */
  start(operationId: string, name: string, now: number, closeOpenAs?: StepClosing): Promise<boolean>;
  /** closes a step still open; its duration, or null when it was closed already */
  finish(operationId: string, name: string, outcome: StepClosing, now: number, message?: string): Promise<number | null>;
  /** the end of an operation closes whatever step is still open */
  closeOpen(operationId: string, outcome: StepClosing, now: number, message?: string): Promise<void>;
  /** in order */
  list(operationId: string): Promise<OperationStep[]>;
}

export interface EventRepository {
  /**
   * Appends an event carrying the space's and the operation's facts (phase, status) as the store
   * has them at this point of the transaction. Ids increase in commit order. The log is bounded:
   * entries beyond the retention are pruned.
   */
  append(facts: EventFacts, now: number): Promise<void>;
  /** events with id > afterId, oldest first */
  after(afterId: number, q: EventQuery): Promise<StoredEvent[]>;
  bounds(): Promise<{ oldestId: number | null; newestId: number | null }>;
  /** how many events are kept (tests shrink it); takes effect at the next prune */
  setRetention(n: number): void;
  /** drops what is past the retention now (appends also do it, every so often), never past the webhook dispatcher's cursor; how many */
  prune(): Promise<number>;
}

export interface AuditRepository {
  append(e: NewAuditEntry): Promise<void>;
  /** newest first */
  list(f: AuditFilter): Promise<AuditEntry[]>;
  /** drops entries recorded before `before`; how many */
  pruneBefore(before: number): Promise<number>;
}

/**
 * Who may link as a space's agent: at most one token of each kind per space, found by its sha256.
 * A revoked or replaced token is gone (nothing to keep: it never identified a person).
 */
export interface AgentTokenRepository {
  /** stores this token, deleting the space's earlier token of the same kind, in one write */
  issue(t: NewAgentToken, now: number): Promise<AgentToken>;
  findByHash(tokenHash: string): Promise<AgentToken | null>;
  /** the space's tokens of this kind (all kinds when not given); how many were revoked */
  revokeForSpace(spaceId: string, kind?: AgentTokenKind): Promise<number>;
}

/**
 * The state of each space's agent link, written by the API process that holds the link (and the
 * lifecycle, which cuts it off). A record whose holder stopped refreshing it within the TTL reads
 * as disconnected; the record itself is kept (at least a day) so `since` and `lastActivity`
 * survive.
 */
export interface AgentStateStore {
  /**
   * The link is up: connected, lastSeen = now, the TTL restarts. `since` is the report's, else the
   * stored one while the record was connected, else now; lastActivity never goes back.
   */
  report(spaceId: string, state: AgentReport, now: number): Promise<void>;
  /**
   * The link went down: not connected since now, no services or sessions; lastActivity and version
   * kept. No record: nothing to do. With `holder` (the replica whose link ended), a record another
   * replica now holds is left alone.
   */
  disconnected(spaceId: string, now: number, holder?: string): Promise<void>;
  get(spaceId: string): Promise<AgentState | null>;
  /** only the spaces with a state are in the map */
  getMany(spaceIds: readonly string[]): Promise<Map<string, AgentState>>;
  /** drops the records (a new start, or spaces that no longer exist) */
  forget(spaceIds: readonly string[]): Promise<void>;
  /** releases a connection the store opened itself (never one it was given) */
  close(): Promise<void>;
}

/**
 * Lifecycle webhooks: endpoints, their deliveries and the dispatcher's cursor in the event log.
 * While the cursor exists, the event log is never pruned past it (EventRepository.prune).
 */
export interface WebhookRepository {
  insertEndpoint(e: NewWebhookEndpoint, now: number): Promise<WebhookEndpoint>;
  getEndpoint(id: string): Promise<WebhookEndpoint | null>;
  /** oldest first */
  listEndpoints(): Promise<WebhookEndpoint[]>;
  updateEndpoint(id: string, patch: WebhookEndpointPatch, now: number): Promise<void>;
  /** with its deliveries; false when there is none */
  deleteEndpoint(id: string): Promise<boolean>;
  /** an attempt's outcome: a success clears `failingSince`, a failure sets it when not set; the endpoint after */
  recordEndpointOutcome(id: string, ok: boolean, now: number): Promise<WebhookEndpoint | null>;
  /** `pending`, not queued; an id that exists is left as it is (a retried dispatch) */
  insertDeliveries(ds: readonly NewWebhookDelivery[], now: number): Promise<void>;
  getDelivery(id: string): Promise<WebhookDelivery | null>;
  /** an endpoint's deliveries, newest first (createdAt, id), before the cursor */
  listDeliveries(endpointId: string, q: { limit: number; before?: { createdAt: number; id: string } }): Promise<WebhookDelivery[]>;
  /** deliveries still to be handed to their queue workflow, in (queuedAt, eventId, id) order */
  listUnqueued(limit: number): Promise<WebhookDelivery[]>;
  markQueued(ids: readonly string[]): Promise<void>;
  /**
   * Whether the (endpoint, queue) lane has a delivery handed to its queue workflow and not done
   * (pending and queued): while it has, a new delivery of the lane must go behind it (order).
   */
  laneHasQueued(endpointId: string, queueKey: string): Promise<boolean>;
  /** a redelivery: `pending` again, to be queued (attempts kept); false when there is none */
  requeue(id: string, now: number): Promise<boolean>;
  /** counts an attempt and keeps its outcome; a success makes it `delivered` */
  recordAttempt(id: string, a: WebhookAttempt, now: number): Promise<void>;
  /** out of attempts (or its endpoint is disabled): `failed` with the reason */
  markFailed(id: string, error: string, now: number): Promise<void>;
  /** the last event id the dispatcher has taken (null: it never ran) */
  getCursor(): Promise<number | null>;
  setCursor(eventId: number): Promise<void>;
}

export type QuotaSubject = 'user' | 'group';

/**
 * Quota limits of users and groups, the units each space last reserved, and the per-owner lock
 * that serialises quota decisions (api/quota-check.ts).
 */
export interface QuotaRepository {
  /** the limits set on these subjects; subjects without any are absent */
  limitsOf(kind: QuotaSubject, ids: readonly string[]): Promise<Map<string, Quota>>;
  /** replaces the subject's limits; an empty quota removes the record */
  setLimits(kind: QuotaSubject, id: string, quota: Quota, now: number): Promise<void>;
  /** the units each of these spaces last reserved; spaces never started since quotas exist are absent */
  unitsOf(spaceIds: readonly string[]): Promise<Map<string, SpaceUnits>>;
  setUnits(spaceId: string, units: SpaceUnits, now: number): Promise<void>;
  /**
   * Inside `store.transaction`: holds this owner's quota lock until the transaction ends, so two
   * quota decisions for one owner never interleave, whichever process makes them. SQL: a write
   * to the owner's user row first (SQLite: the one writer lock; MariaDB: the row lock, like
   * SELECT … FOR UPDATE); Redis: reads and rewrites the owner's quota key, so of two concurrent
   * transactions one EXEC fails and its work runs again on what the other committed.
   */
  lockOwner(userId: string, now: number): Promise<void>;
}

/** A space's autostart and the instant it is next due (the autostart sweep's index). */
export interface SpaceAutostart {
  spaceId: string;
  autostart: Autostart;
  /** null: not due again (cannot happen for a valid autostart, kept for safety) */
  nextAt: number | null;
}

/**
 * Auto-start settings of spaces (core/autostart.ts): a setting, not part of the spec, so changing
 * it never runs an update. The sweep claims a due time with `advance` (compare-and-set on
 * `nextAt`) before acting, so each due time is acted on once, by one sweep.
 */
export interface AutostartRepository {
  get(spaceId: string): Promise<SpaceAutostart | null>;
  getMany(spaceIds: readonly string[]): Promise<Map<string, SpaceAutostart>>;
  /** sets (or, with null, removes) the space's autostart and its next due instant */
  set(spaceId: string, autostart: Autostart | null, nextAt: number | null, now: number): Promise<void>;
  /** up to `limit` autostarts due at `now` (nextAt <= now), earliest first */
  listDue(now: number, limit: number): Promise<SpaceAutostart[]>;
  /** moves nextAt from `expected` to `next`; false (nothing changed) when it is no longer `expected` */
  advance(spaceId: string, expected: number, next: number | null, now: number): Promise<boolean>;
}

/** A space's dormancy record (core/dormancy.ts); a space without one is not exempt and was never warned. */
export interface SpaceDormancy {
  spaceId: string;
  /** set by an admin: never deleted as dormant */
  exempt: boolean;
  /** the last dormancy warning: when, for the dormancy period that started when, announcing which deletion time */
  warnedAt: number | null;
  warnedSince: number | null;
  warnedDeletesAt: number | null;
}

/**
 * Dormancy of spaces (core/dormancy.ts): the admin's exemption and the last warning sent. Whether
 * a warning belongs to the current dormancy period is decided against the space's clock, so a
 * start needs no write here to reset it.
 */
export interface DormancyRepository {
  getMany(spaceIds: readonly string[]): Promise<Map<string, SpaceDormancy>>;
  setExempt(spaceId: string, exempt: boolean, now: number): Promise<void>;
  markWarned(spaceId: string, warning: { at: number; since: number; deletesAt: number }, now: number): Promise<void>;
}

/** The repositories, as seen inside and outside a transaction. */
export interface Repositories {
  readonly users: UserRepository;
  readonly groups: GroupRepository;
  readonly tokens: TokenRepository;
  readonly sessions: SessionRepository;
  readonly sshKeys: SshKeyRepository;
  readonly agentTokens: AgentTokenRepository;
  readonly templates: TemplateRepository;
  readonly variables: VariableRepository;
  readonly spaces: SpaceRepository;
  readonly shares: SpaceShareRepository;
  readonly volumes: VolumeRepository;
  readonly operations: OperationRepository;
  readonly steps: StepRepository;
  readonly events: EventRepository;
  readonly audit: AuditRepository;
  readonly webhooks: WebhookRepository;
  readonly quotas: QuotaRepository;
  readonly autostarts: AutostartRepository;
  readonly dormancy: DormancyRepository;
}

export interface TransactionOptions {
  /**
   * `work` only opens and closes operation steps and appends events (the step records' writes): a
   * driver may run it more cheaply (the SQLite store without a knex transaction object; there,
   * work that uses anything else fails at once with a clear error).
   */
  stepRecordsOnly?: boolean;
}

export interface Store extends Repositories {
  readonly kind: StoreKind;
  /**
   * Runs `work` so that every write it makes through `tx` commits together or not at all. A driver
   * with optimistic concurrency (Redis) runs `work` again when a record it read changed before the
   * commit, so `work` must do nothing but store calls (and pure computation) until it returns.
   */
  transaction<T>(work: (tx: Repositories) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /** agent reports kept by this store, each expiring after `ttlMs` (used when Redis is not configured separately) */
  agentState(ttlMs: number, clock?: () => number): AgentStateStore;
  /** creates or upgrades what the store needs (SQL migrations, the Redis schema version); the steps applied */
  migrate(): Promise<string[]>;
  /** reverses `migrate` (tests and `knot migrate --down`) */
  migrateDown(): Promise<void>;
  /** whether the backing server answers */
  ping(): Promise<boolean>;
  /** a description for the start banner and /health: driver and where (no credentials) */
  describe(): string;
  close(): Promise<void>;
}

