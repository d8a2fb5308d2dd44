/** Store records → the flat JSON the API returns (ISO-8601 times, secrets masked). */
import type { SpaceAutostart } from '../store/store';
import type { AgentStatus } from '../core/agent-status';
import type { z } from 'zod';
import type { ParameterDef } from '../core/parameters';
import type { TemplatePort } from '../core/template';
import { isEncrypted } from '../core/crypto';
import type { AuditEntry, Group, Operation, SpaceVolume, Space, TemplateRecord, TemplateVersionRecord, ApiToken, User, TemplateVariable } from '../store/model';
import { iso } from './schemas/common';
import type { auditView } from './schemas/audit';
import type { groupView } from './schemas/groups';
import type { SpaceRole } from '../core/space-roles';
import type { operationView, spaceView } from './schemas/spaces';
import type { templateView, versionSummary } from './schemas/templates';
import type { tokenView } from './schemas/tokens';
import type { userView } from './schemas/users';
import type { variableView } from './schemas/variables';

export const API_BASE = '/api/v1';

export function userJson(u: User, groups: string[]): z.infer<typeof userView> {
  return { id: u.id, username: u.username, email: u.email, timezone: u.timezone, role: u.role, active: u.active, hasPassword: u.hasPassword, groups, createdAt: iso(u.createdAt), updatedAt: iso(u.updatedAt) };
}

export function groupJson(g: Group, usernameOf: (id: string) => string | undefined): z.infer<typeof groupView> {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    members: g.memberIds.map((id) => usernameOf(id) ?? id).sort(),
    createdAt: iso(g.createdAt),
    updatedAt: iso(g.updatedAt),
  };
}

export function tokenJson(t: ApiToken): z.infer<typeof tokenView> {
  return { id: t.id, name: t.name, prefix: t.prefix, expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt), lastUsedAt: iso(t.lastUsedAt), createdAt: iso(t.createdAt) };
}

export function variableJson(v: TemplateVariable): z.infer<typeof variableView> {
  return { id: v.id, name: v.name, value: v.protected ? null : v.value, protected: v.protected, createdAt: iso(v.createdAt), updatedAt: iso(v.updatedAt) };
}

export function versionSummaryJson(v: TemplateVersionRecord): z.infer<typeof versionSummary> {
  return { version: v.version, contentHash: v.contentHash, createdAt: iso(v.createdAt), createdBy: v.createdBy };
}

/** The stored content of a version, as far as the view needs it. */
export interface StoredTemplateContent {
  displayName?: string;
  description?: string;
  type?: 'nomad' | 'manual';
  job?: string;
  volumes?: string;
  groups?: string[];
  parameters?: ParameterDef[];
  maxUptime?: string;
  schedule?: z.infer<typeof templateView>['schedule'];
  idleTimeout?: string;
  startTimeout?: string;
  ports?: TemplatePort[];
  computeUnits?: number;
  storageUnits?: number;
}

export function templateJson(t: TemplateRecord, latest: TemplateVersionRecord<StoredTemplateContent>, versions: TemplateVersionRecord[]): z.infer<typeof templateView> {
  const c = latest.content;
  return {
    id: t.id,
    name: t.name,
    displayName: t.displayName,
    description: t.description,
    type: t.type,
    ...(c.job !== undefined ? { job: c.job } : {}),
    ...(c.volumes !== undefined ? { volumes: c.volumes } : {}),
    groups: t.groups,
    parameters: c.parameters ?? [],
    ...(c.maxUptime !== undefined ? { maxUptime: c.maxUptime } : {}),
    ...(c.schedule !== undefined ? { schedule: c.schedule } : {}),
    ...(c.idleTimeout !== undefined ? { idleTimeout: c.idleTimeout } : {}),
    startTimeout: c.startTimeout ?? '5m',
    ...(c.ports !== undefined ? { ports: c.ports } : {}),
    ...(c.computeUnits !== undefined ? { computeUnits: c.computeUnits } : {}),
    ...(c.storageUnits !== undefined ? { storageUnits: c.storageUnits } : {}),
    version: t.latestVersion,
    contentHash: t.latestHash,
    versions: versions.map(versionSummaryJson),
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
  };
}

export function operationJson(o: Operation): z.infer<typeof operationView> {
  return {
    id: o.id,
    spaceId: o.spaceId,
    type: o.type,
    status: o.status,
    reason: o.reason,
    requestedBy: o.requestedBy,
    error: o.errorType || o.errorMessage ? { type: o.errorType ?? 'internal', message: o.errorMessage ?? '' } : null,
    workflowId: o.workflowId,
    runId: o.runId,
    createdAt: iso(o.createdAt),
    startedAt: iso(o.startedAt),
    finishedAt: iso(o.finishedAt),
    href: `${API_BASE}/operations/${o.id}`,
  };
}

export function auditJson(a: AuditEntry): z.infer<typeof auditView> {
  return { id: a.id, at: iso(a.at), actor: a.actor, actorId: a.actorId, action: a.action, resourceType: a.resourceType, resourceId: a.resourceId, outcome: a.outcome, detail: a.detail };
}

export interface SpaceViewFacts {
  ownerName: string;
  templateName: string;
  /** the password parameters of the versions the space follows and runs (core/parameters.ts secretParameterNames): masked */
  secretParameters: ReadonlySet<string>;
  updateAvailable: boolean;
  volumes: SpaceVolume[];
  lastOperation: Operation | null;
  agent: AgentStatus;
  /** the ports the applied template version marks public */
  publicPorts: number[];
  /** the caller's role on the space (null: none, after giving it away) */
  role: SpaceRole | null;
  /** the space's autostart setting and when it is next due */
  autostart: SpaceAutostart | null;
  dormancyExempt: boolean;
  /** core/dormancy.ts dormantDeletesAt */
  deletesAt: number | null;
}

export function spaceJson(s: Space, f: SpaceViewFacts): z.infer<typeof spaceView> {
  const parameters: Record<string, string | number | boolean | null> = {};
  const stored = s.parameters;
  for (const k in stored) {
    if (!Object.prototype.hasOwnProperty.call(stored, k)) continue;
    const v = stored[k]!;
    // a stored `v1:` value is ciphertext whatever the definitions say now
    parameters[k] = f.secretParameters.has(k) || isEncrypted(v) ? null : v;
  }
  const op = f.lastOperation;
  const volumes = new Array<{ id: string; type: SpaceVolume['type']; nomadId: string | null }>(f.volumes.length);
  for (let i = 0; i < f.volumes.length; i++) {
    const v = f.volumes[i]!;
    volumes[i] = { id: v.volumeId, type: v.type, nomadId: v.nomadId };
  }
  return {
    id: s.id,
    name: s.name,
    owner: f.ownerName,
    ownerId: s.ownerId,
    template: f.templateName,
    templateId: s.templateId,
    templateVersion: s.templateRef || 'latest',
    shell: s.shell,
    agentUrl: s.agentUrl,
    parameters,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
    autostart: f.autostart?.autostart ?? null,
    dormancyExempt: f.dormancyExempt,
    status: {
      phase: s.phase,
      reason: s.reason,
      message: s.message,
      updateAvailable: f.updateAvailable,
      appliedVersion: s.appliedVersion,
      volumes,
      nomadJobId: s.nomadJobId,
      startedAt: iso(s.startedAt),
      lastOperation: op ? { id: op.id, type: op.type, status: op.status, href: `${API_BASE}/operations/${op.id}` } : null,
      agent: f.agent,
      publicPorts: f.publicPorts,
      nextAutostartAt: iso(f.autostart?.nextAt ?? null),
      deletesAt: iso(f.deletesAt),
    },
    role: f.role,
    sharedBy: f.role === 'viewer' || f.role === 'user' ? f.ownerName : null,
  };
}
