/**
 * The seeds' Volume-Definition YAML (after rendering) → VolumeSpec, and the volume plan of a start.
 *
 * Pure and free of Node APIs so the start workflow can call `planVolumes` directly.
 */
import YAML from 'yaml';
import { ErrorType, KnotError, type FieldError } from './errors';
import { renderYamlData, type RenderContext } from './render';

export const ACCESS_MODES = [
  'single-node-reader-only',
  'single-node-writer',
  'multi-node-reader-only',
  'multi-node-single-writer',
  'multi-node-multi-writer',
] as const;
export const ATTACHMENT_MODES = ['file-system', 'block-device'] as const;

export type VolumeType = 'csi' | 'host';

/** One volume a space needs. Consumed by the Nomad client; keep the shape stable. */
export interface VolumeSpec {
  type: VolumeType;
  id: string;
  name: string;
  namespace?: string;
  pluginId: string;
  capacityMin?: number;
  capacityMax?: number;
  mountOptions?: { fsType?: string; mountFlags?: string[] };
  capabilities: { accessMode: string; attachmentMode: string }[];
  secrets?: Record<string, string>;
  parameters?: Record<string, string>;
  nodePool?: string;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1e3,
  KB: 1e3,
  M: 1e6,
  MB: 1e6,
  G: 1e9,
  GB: 1e9,
  T: 1e12,
  TB: 1e12,
  P: 1e15,
  PB: 1e15,
  KI: 2 ** 10,
  KIB: 2 ** 10,
  MI: 2 ** 20,
  MIB: 2 ** 20,
  GI: 2 ** 30,
  GIB: 2 ** 30,
  TI: 2 ** 40,
  TIB: 2 ** 40,
  PI: 2 ** 50,
  PIB: 2 ** 50,
};

/**
 * Bytes in a size: a non-negative integer (number or string), or a number with a unit — decimal
 * `K M G T P` (optionally `B`, 10^3 steps) or binary `Ki Mi Gi Ti Pi` (optionally `B`, 2^10 steps),
 * case-insensitive, optional space: `1G` = 10^9, `10GiB` = 10·2^30, `1.5G`. The result must be a
 * whole number of bytes within Number.MAX_SAFE_INTEGER. Returns undefined for anything else.
 */
export function parseSize(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  if (typeof input !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(input.trim());
  if (!m?.[1]) return undefined;
  const unit = SIZE_UNITS[(m[2] ?? '').toUpperCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  // 1.5G is fine; 1.5 bytes is not.
  const rounded = Math.round(bytes);
  if (Math.abs(bytes - rounded) > 1e-6 * Math.max(1, unit) || !Number.isSafeInteger(rounded)) return undefined;
  return rounded;
}

const KEYS = new Set([
  'id',
  'name',
  'namespace',
  'type',
  'plugin_id',
  'capacity_min',
  'capacity_max',
  'mount_options',
  'capabilities',
  'secrets',
  'parameters',
  'node_pool',
]);
const HOST_ONLY = new Set(['node_pool']);
const CSI_ONLY = new Set(['mount_options', 'secrets']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** YAML turns `rw` into a string but `1` into a number; map values are strings on the Nomad side. */
function scalarString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function stringMap(v: unknown, at: string, errors: FieldError[]): Record<string, string> | undefined {
  if (!isRecord(v)) {
    errors.push({ path: at, message: 'must be a map of strings' });
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    const s = scalarString(val);
    if (s === undefined) errors.push({ path: `${at}.${k}`, message: 'must be a string' });
    else out[k] = s;
  }
  return out;
}

function parseVolume(raw: unknown, index: number, errors: FieldError[]): VolumeSpec | undefined {
  const label = isRecord(raw) && typeof raw.id === 'string' && raw.id !== '' ? `(${raw.id})` : '';
  const base = `volumes[${index}]${label}`;
  const at = (field: string) => `${base}.${field}`;
  if (!isRecord(raw)) {
    errors.push({ path: base, message: 'must be a map' });
    return undefined;
  }
  const before = errors.length;
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) errors.push({ path: at(key), message: `unknown key (known: ${[...KEYS].join(', ')})` });
  }

  const type = raw.type === undefined ? 'csi' : raw.type;
  if (type !== 'csi' && type !== 'host') errors.push({ path: at('type'), message: "must be 'csi' or 'host'" });
  const volumeType: VolumeType = type === 'host' ? 'host' : 'csi';
  for (const key of Object.keys(raw)) {
    if (volumeType === 'csi' && HOST_ONLY.has(key)) errors.push({ path: at(key), message: 'only applies to host volumes' });
    if (volumeType === 'host' && CSI_ONLY.has(key)) errors.push({ path: at(key), message: 'only applies to csi volumes' });
  }

  const text = (field: string, required: boolean): string | undefined => {
    const v = raw[field];
    if (v === undefined || v === null || v === '') {
      if (required) errors.push({ path: at(field), message: 'is required' });
      return undefined;
    }
    if (typeof v !== 'string') {
      errors.push({ path: at(field), message: 'must be a string' });
      return undefined;
    }
    return v;
  };
  const id = text('id', true);
  const name = text('name', false);
  const namespace = text('namespace', false);
  const pluginId = text('plugin_id', true);
  const nodePool = text('node_pool', false);

  const size = (field: string): number | undefined => {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    const bytes = parseSize(v);
    if (bytes === undefined) errors.push({ path: at(field), message: `invalid size ${JSON.stringify(v)} (e.g. 1G, 10GiB, 500M, or bytes)` });
    return bytes;
  };
  const capacityMin = size('capacity_min');
  const capacityMax = size('capacity_max');
  if (capacityMin !== undefined && capacityMax !== undefined && capacityMin > capacityMax) {
    errors.push({ path: at('capacity_min'), message: `is greater than capacity_max (${capacityMin} > ${capacityMax} bytes)` });
  }

  let mountOptions: VolumeSpec['mountOptions'];
  if (raw.mount_options !== undefined && raw.mount_options !== null) {
    const mo = raw.mount_options;
    if (!isRecord(mo)) errors.push({ path: at('mount_options'), message: 'must be a map' });
    else {
      mountOptions = {};
      for (const key of Object.keys(mo)) {
        if (key !== 'fs_type' && key !== 'mount_flags') errors.push({ path: at(`mount_options.${key}`), message: 'unknown key (known: fs_type, mount_flags)' });
      }
      if (mo.fs_type !== undefined) {
        if (typeof mo.fs_type === 'string' && mo.fs_type !== '') mountOptions.fsType = mo.fs_type;
        else errors.push({ path: at('mount_options.fs_type'), message: 'must be a non-empty string' });
      }
      if (mo.mount_flags !== undefined) {
        const flags = Array.isArray(mo.mount_flags) ? mo.mount_flags.map(scalarString) : undefined;
        if (!flags || flags.some((f) => f === undefined || f === '')) errors.push({ path: at('mount_options.mount_flags'), message: 'must be a list of strings' });
        else mountOptions.mountFlags = flags as string[];
      }
    }
  }

  const capabilities: VolumeSpec['capabilities'] = [];
  const caps = raw.capabilities;
  if (!Array.isArray(caps) || caps.length === 0) {
    errors.push({ path: at('capabilities'), message: 'needs at least one {access_mode, attachment_mode}' });
  } else {
    caps.forEach((cap, i) => {
      const cat = (f: string) => at(`capabilities[${i}]${f ? `.${f}` : ''}`);
      if (!isRecord(cap)) {
        errors.push({ path: cat(''), message: 'must be a map with access_mode and attachment_mode' });
        return;
      }
      for (const key of Object.keys(cap)) {
        if (key !== 'access_mode' && key !== 'attachment_mode') errors.push({ path: cat(key), message: 'unknown key (known: access_mode, attachment_mode)' });
      }
      const accessMode = cap.access_mode;
      const attachmentMode = cap.attachment_mode;
      const accessOk = typeof accessMode === 'string' && (ACCESS_MODES as readonly string[]).includes(accessMode);
      const attachOk = typeof attachmentMode === 'string' && (ATTACHMENT_MODES as readonly string[]).includes(attachmentMode);
      if (!accessOk) errors.push({ path: cat('access_mode'), message: `must be one of ${ACCESS_MODES.join(', ')}` });
      if (!attachOk) errors.push({ path: cat('attachment_mode'), message: `must be one of ${ATTACHMENT_MODES.join(', ')}` });
      if (accessOk && attachOk) capabilities.push({ accessMode: accessMode as string, attachmentMode: attachmentMode as string });
    });
  }

  const secrets = raw.secrets === undefined || raw.secrets === null ? undefined : stringMap(raw.secrets, at('secrets'), errors);
  const parameters = raw.parameters === undefined || raw.parameters === null ? undefined : stringMap(raw.parameters, at('parameters'), errors);

  if (errors.length > before || id === undefined || pluginId === undefined) return undefined;
  const spec: VolumeSpec = { type: volumeType, id, name: name ?? id, pluginId, capabilities };
  if (namespace !== undefined) spec.namespace = namespace;
  if (capacityMin !== undefined) spec.capacityMin = capacityMin;
  if (capacityMax !== undefined) spec.capacityMax = capacityMax;
  if (mountOptions !== undefined) spec.mountOptions = mountOptions;
  if (secrets !== undefined) spec.secrets = secrets;
  if (parameters !== undefined) spec.parameters = parameters;
  if (nodePool !== undefined) spec.nodePool = nodePool;
  return spec;
}

/**
 * Parses rendered Volume-Definition YAML. Empty text, an empty document, `volumes:` and
 * `volumes: []` mean no volumes. Throws KnotError(VolumeSpec) listing every problem, each path
 * naming the volume and the field: `volumes[0](debian_x_home).capacity_min`.
 */
export function parseVolumeDefinitions(yamlText: string): VolumeSpec[] {
  if (yamlText.trim() === '') return [];
  const doc = YAML.parseDocument(yamlText);
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => ({
      path: 'volumes',
      message: `YAML does not parse at ${e.linePos?.[0]?.line ?? '?'}:${e.linePos?.[0]?.col ?? '?'}: ${e.message.split('\n')[0] ?? e.code}`,
    }));
    throw new KnotError(ErrorType.VolumeSpec, errors.map((e) => e.message).join('; '), { errors });
  }
  return volumeDefinitionsOf(doc.toJS());
}

/**
 * A template's Volume-Definition YAML rendered for a space and parsed: what
 * `parseVolumeDefinitions(renderTemplate(yaml, ctx, { escape: 'yaml', path: 'volumes' }))` gives,
 * without printing the rendered YAML and parsing it again. Render problems throw as renderTemplate's.
 */
export function renderVolumeDefinitions(yamlText: string, ctx: RenderContext): VolumeSpec[] {
  if (yamlText.trim() === '') return [];
  return volumeDefinitionsOf(renderYamlData(yamlText, ctx, 'volumes'));
}

/** The volume definitions of a parsed document (`{ volumes: [...] }`), every problem in one VolumeSpec error. */
function volumeDefinitionsOf(root: unknown): VolumeSpec[] {
  if (root === null || root === undefined) return [];
  const errors: FieldError[] = [];
  if (!isRecord(root)) {
    errors.push({ path: 'volumes', message: 'the document must be a map with a `volumes:` list' });
  } else {
    for (const key of Object.keys(root)) if (key !== 'volumes') errors.push({ path: key, message: 'unknown key (only `volumes` is allowed)' });
    if (root.volumes !== undefined && root.volumes !== null && !Array.isArray(root.volumes)) {
      errors.push({ path: 'volumes', message: 'must be a list' });
    }
  }
  const list: unknown[] = isRecord(root) && Array.isArray(root.volumes) ? root.volumes : [];
  const specs: VolumeSpec[] = [];
  const firstIndex = new Map<string, number>();
  list.forEach((raw, index) => {
    const spec = parseVolume(raw, index, errors);
    const id = isRecord(raw) && typeof raw.id === 'string' ? raw.id : undefined;
    if (id) {
      const first = firstIndex.get(id);
      if (first !== undefined) errors.push({ path: `volumes[${index}](${id}).id`, message: `duplicate id (also volumes[${first}])` });
      else firstIndex.set(id, index);
    }
    if (spec) specs.push(spec);
  });
  if (errors.length > 0) {
    throw new KnotError(ErrorType.VolumeSpec, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
  }
  return specs;
}

export interface ExistingVolume {
  id: string;
  type: VolumeType;
  /** the operation whose start recorded it (activities/nomad-volumes.ts `createSpaceVolume`) */
  createdBy?: string | null;
}

export interface VolumePlan {
  create: VolumeSpec[];
  keep: VolumeSpec[];
  remove: ExistingVolume[];
}

/**
 * What a start must do with volumes, matched by type and id: create the desired ones the space
 * lacks, keep the ones it has (their data stays), remove the ones the template no longer has.
 * `create` and `keep` follow the order of `desired`, `remove` the order of `existing`. A volume
 * whose type changed (same id, csi ↔ host) is a different Nomad object: removed and created.
 *
 * A volume recorded by `operationId` itself is planned as a create again: the record is written
 * before Nomad is asked, so it does not prove the volume exists. The plan is made again when the
 * start's workflow task runs again (its worker died before the task was recorded); planned as kept,
 * the volume would never be created, and the start's compensation would not cover it. Creating
 * is idempotent for the operation that recorded it.
 */
export function planVolumes(desired: readonly VolumeSpec[], existing: readonly ExistingVolume[], operationId?: string): VolumePlan {
  const key = (v: { id: string; type: VolumeType }) => `${v.type}\u0000${v.id}`;
  const have = new Set(existing.filter((v) => !operationId || v.createdBy !== operationId).map(key));
  const want = new Set(desired.map(key));
  const plan: VolumePlan = { create: [], keep: [], remove: [] };
  for (const v of desired) (have.has(key(v)) ? plan.keep : plan.create).push(v);
  const removed = new Set<string>();
  for (const v of existing) {
    const k = key(v);
    if (!want.has(k) && !removed.has(k)) {
      removed.add(k);
      plan.remove.push({ id: v.id, type: v.type });
    }
  }
  return plan;
}
