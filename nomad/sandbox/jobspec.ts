/**
 * HCL2 jobspec → api.Job JSON, as Nomad's `/v1/jobs/parse` (Canonicalize=false) returns it.
 *
 * `@cdktf/hcl2json` does the HCL parsing. Its output keeps every block as an array (labelled blocks
 * as `{label: [body]}` with labels sorted alphabetically), string escapes decoded, and every
 * expression that is not a literal as a `"${...}"` template string with `$${` left escaped. This
 * module maps that onto Nomad's field names, restores source order of labelled blocks, and
 * evaluates the one kind of expression a jobspec needs at parse time: `var.NAME`.
 */
import { parse as parseHcl } from '@cdktf/hcl2json';
import type {
  Constraint,
  Job,
  NetworkResource,
  Port,
  Resources,
  Service,
  ServiceCheck,
  Task,
  TaskGroup,
  Template,
  UpdateStrategy,
  VolumeMount,
  VolumeRequest,
} from '../types';

export class JobspecError extends Error {}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Body of an unlabelled block (`update {}`) or an attribute map (`meta = {}`); merged when repeated. */
function block(v: unknown): Obj | undefined {
  if (Array.isArray(v)) return Object.assign({}, ...v.filter(isObj)) as Obj;
  return isObj(v) ? v : undefined;
}

function blocks(v: unknown): Obj[] {
  if (Array.isArray(v)) return v.filter(isObj);
  return isObj(v) ? [v] : [];
}

/** Labelled blocks in the order they appear in the source (hcl2json sorts labels). */
function labelled(v: unknown, keyword: string, source: string): [string, Obj][] {
  if (!isObj(v)) return [];
  const entries = Object.entries(v).map(([label, bodies]) => [label, block(bodies) ?? {}] as [string, Obj]);
  const position = (label: string): number => {
    const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = new RegExp(`(^|[\\s{])${keyword}\\s+"${escaped}"`, 'm').exec(source);
    return m ? m.index : Number.MAX_SAFE_INTEGER;
  };
  return entries.sort((a, b) => position(a[0]) - position(b[0]));
}

const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
const strOr = (v: unknown, fallback = ''): string => str(v) ?? fallback;
const num = (v: unknown): number | null => {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'number' ? v : Number(v);
  if (Number.isNaN(n)) throw new JobspecError(`Unsuitable value: a number is required, got ${JSON.stringify(v)}`);
  return n;
};
const bool = (v: unknown): boolean | null => (v === undefined || v === null ? null : v === true || v === 'true');
const strList = (v: unknown): string[] | null => (Array.isArray(v) ? v.map((x) => String(x)) : null);
const strMap = (v: unknown): Record<string, string> | null => {
  const b = block(v);
  if (!b) return null;
  return Object.fromEntries(Object.entries(b).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]));
};

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go `time.ParseDuration` → integer nanoseconds. */
export function durationNs(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return v;
  const text = String(v).trim();
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  const negative = text.startsWith('-');
  const body = negative || text.startsWith('+') ? text.slice(1) : text;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    total += Number(m[1]) * (UNIT_NS[m[2] ?? 's'] ?? 1);
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== body.length) throw new JobspecError(`time: invalid duration "${text}"`);
  return Math.round(negative ? -total : total);
}

// ---- expression evaluation ----

type Vars = Map<string, unknown>;

/** Finds the `}` closing an interpolation that starts at `open` (the index after `${`). */
function closingBrace(s: string, open: number): number {
  let depth = 1;
  let quote = false;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
    } else if (c === '"') quote = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

function evalVarRef(expr: string, vars: Vars): { found: boolean; value?: unknown } {
  const m = /^var\.([A-Za-z_][\w-]*)$/.exec(expr.trim());
  if (!m?.[1]) return { found: false };
  const name = m[1];
  if (!vars.has(name)) throw new JobspecError(`Reference to undeclared input variable; An input variable with the name "${name}" has not been declared.`);
  return { found: true, value: vars.get(name) };
}

function stringify(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Evaluates an hcl2json template string: `var.X` references are substituted, other interpolations
 * (`${NOMAD_PORT_http}`, `${attr.kernel.name}`) are runtime values Nomad keeps verbatim, and the
 * escapes `$${` / `%%{` become `${` / `%{`.
 */
export function evalTemplate(s: string, vars: Vars): unknown {
  const whole = /^\$\{([^]*)\}$/.exec(s);
  if (whole?.[1] !== undefined && closingBrace(s, 2) === s.length - 1) {
    const ref = evalVarRef(whole[1], vars);
    if (ref.found) return ref.value;
  }
  let out = '';
  for (let i = 0; i < s.length; ) {
    if (s.startsWith('$${', i) || s.startsWith('%%{', i)) {
      out += `${s[i]}{`;
      i += 3;
    } else if (s.startsWith('${', i)) {
      const end = closingBrace(s, i + 2);
      if (end < 0) {
        out += s.slice(i);
        break;
      }
      const ref = evalVarRef(s.slice(i + 2, end), vars);
      out += ref.found ? stringify(ref.value) : s.slice(i, end + 1);
      i = end + 1;
    } else {
      out += s[i];
      i++;
    }
  }
  return out;
}

function evaluate(v: unknown, vars: Vars): unknown {
  if (typeof v === 'string') return evalTemplate(v, vars);
  if (Array.isArray(v)) return v.map((x) => evaluate(x, vars));
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, evaluate(x, vars)]));
  return v;
}

// ---- mapping ----

function mapUpdate(v: unknown): UpdateStrategy | null {
  const u = block(v);
  if (!u) return null;
  return {
    Stagger: durationNs(u.stagger),
    MaxParallel: num(u.max_parallel),
    HealthCheck: str(u.health_check),
    MinHealthyTime: durationNs(u.min_healthy_time),
    HealthyDeadline: durationNs(u.healthy_deadline),
    ProgressDeadline: durationNs(u.progress_deadline),
    Canary: num(u.canary),
    AutoRevert: bool(u.auto_revert),
    AutoPromote: bool(u.auto_promote),
  };
}

const SPECIAL_CONSTRAINTS = ['distinct_hosts', 'distinct_property', 'regexp', 'version', 'semver', 'set_contains', 'set_contains_any', 'set_contains_all', 'is_set', 'is_not_set'];

function mapConstraints(v: unknown): Constraint[] | null {
  const list = blocks(v);
  if (list.length === 0) return null;
  return list.map((c) => {
    const special = SPECIAL_CONSTRAINTS.find((op) => op in c);
    if (special === 'distinct_hosts') return { LTarget: '', RTarget: '', Operand: 'distinct_hosts' };
    if (special) {
      return { LTarget: strOr(c.attribute), RTarget: strOr(c[special]), Operand: special };
    }
    return { LTarget: strOr(c.attribute), RTarget: strOr(c.value), Operand: strOr(c.operator) };
  });
}

function mapPorts(ports: [string, Obj][]): { reserved: Port[] | null; dynamic: Port[] | null } {
  const reserved: Port[] = [];
  const dynamic: Port[] = [];
  for (const [label, p] of ports) {
    const port: Port = {
      Label: label,
      Value: num(p.static) ?? 0,
      To: num(p.to) ?? 0,
      HostNetwork: strOr(p.host_network),
      IgnoreCollision: bool(p.ignore_collision) ?? false,
    };
    (p.static !== undefined ? reserved : dynamic).push(port);
  }
  return { reserved: reserved.length ? reserved : null, dynamic: dynamic.length ? dynamic : null };
}

function mapNetworks(v: unknown, source: string): NetworkResource[] | null {
  const list = blocks(v);
  if (list.length === 0) return null;
  return list.map((n) => {
    const { reserved, dynamic } = mapPorts(labelled(n.port, 'port', source));
    const dns = block(n.dns);
    return {
      Mode: strOr(n.mode),
      Device: '',
      CIDR: '',
      IP: '',
      DNS: dns ? { Servers: strList(dns.servers), Searches: strList(dns.searches), Options: strList(dns.options) } : null,
      Hostname: strOr(n.hostname),
      MBits: num(n.mbits),
      CNI: null,
      ReservedPorts: reserved,
      DynamicPorts: dynamic,
    };
  });
}

function mapMountOptions(v: unknown): VolumeRequest['MountOptions'] {
  const m = block(v);
  return m ? { FSType: strOr(m.fs_type), MountFlags: strList(m.mount_flags) } : null;
}

function mapVolumes(v: unknown, source: string): Record<string, VolumeRequest> | null {
  const list = labelled(v, 'volume', source);
  if (list.length === 0) return null;
  return Object.fromEntries(
    list.map(([label, b]) => [
      label,
      {
        Name: label,
        Type: strOr(b.type),
        Source: strOr(b.source),
        ReadOnly: bool(b.read_only) ?? false,
        Sticky: bool(b.sticky) ?? false,
        AccessMode: strOr(b.access_mode),
        AttachmentMode: strOr(b.attachment_mode),
        MountOptions: mapMountOptions(b.mount_options),
        PerAlloc: bool(b.per_alloc) ?? false,
      },
    ]),
  );
}

function mapCheck(c: Obj): ServiceCheck {
  return {
    Name: strOr(c.name),
    Type: strOr(c.type),
    Command: strOr(c.command),
    Args: strList(c.args),
    Path: strOr(c.path),
    Protocol: strOr(c.protocol),
    PortLabel: strOr(c.port),
    Expose: bool(c.expose) ?? false,
    AddressMode: strOr(c.address_mode),
    Interval: durationNs(c.interval) ?? 0,
    Timeout: durationNs(c.timeout) ?? 0,
    InitialStatus: strOr(c.initial_status),
    TLSServerName: strOr(c.tls_server_name),
    TLSSkipVerify: bool(c.tls_skip_verify) ?? false,
    Header: block(c.header) ?? null,
    Method: strOr(c.method),
    CheckRestart: null,
    GRPCService: strOr(c.grpc_service),
    GRPCUseTLS: bool(c.grpc_use_tls) ?? false,
    TaskName: strOr(c.task),
    SuccessBeforePassing: num(c.success_before_passing) ?? 0,
    FailuresBeforeCritical: num(c.failures_before_critical) ?? 0,
    FailuresBeforeWarning: num(c.failures_before_warning) ?? 0,
    Body: strOr(c.body),
    OnUpdate: strOr(c.on_update),
  };
}

function mapServices(v: unknown): Service[] | null {
  const list = blocks(v);
  if (list.length === 0) return null;
  return list.map((s) => ({
    Name: strOr(s.name),
    Tags: strList(s.tags),
    CanaryTags: strList(s.canary_tags),
    EnableTagOverride: bool(s.enable_tag_override) ?? false,
    PortLabel: strOr(s.port),
    AddressMode: strOr(s.address_mode),
    Address: strOr(s.address),
    Checks: blocks(s.check).length ? blocks(s.check).map(mapCheck) : null,
    CheckRestart: null,
    Connect: null,
    Meta: strMap(s.meta),
    CanaryMeta: strMap(s.canary_meta),
    TaggedAddresses: strMap(s.tagged_addresses),
    TaskName: strOr(s.task),
    OnUpdate: strOr(s.on_update),
    Provider: strOr(s.provider),
    Cluster: strOr(s.cluster),
  }));
}

function mapResources(v: unknown, source: string): Resources | null {
  const r = block(v);
  if (!r) return null;
  return {
    CPU: num(r.cpu),
    Cores: num(r.cores),
    MemoryMB: num(r.memory),
    MemoryMaxMB: num(r.memory_max),
    DiskMB: num(r.disk),
    Networks: mapNetworks(r.network, source),
    Devices: null,
    IOPS: num(r.iops),
  };
}

function mapVolumeMounts(v: unknown): VolumeMount[] | null {
  const list = blocks(v);
  if (list.length === 0) return null;
  return list.map((m) => ({
    Volume: str(m.volume),
    Destination: str(m.destination),
    ReadOnly: bool(m.read_only),
    PropagationMode: str(m.propagation_mode),
    SELinuxLabel: str(m.selinux_label),
  }));
}

function mapTemplates(v: unknown): Template[] | null {
  const list = blocks(v);
  if (list.length === 0) return null;
  return list.map((t) => ({
    SourcePath: str(t.source),
    DestPath: str(t.destination),
    EmbeddedTmpl: str(t.data),
    ChangeMode: str(t.change_mode),
    ChangeScript: null,
    ChangeSignal: str(t.change_signal),
    Splay: durationNs(t.splay),
    Perms: str(t.perms),
    Uid: num(t.uid),
    Gid: num(t.gid),
    LeftDelim: str(t.left_delimiter),
    RightDelim: str(t.right_delimiter),
    Envvars: bool(t.env),
    VaultGrace: null,
    Wait: null,
    ErrMissingKey: bool(t.error_on_missing_key),
  }));
}

function mapTask(name: string, t: Obj, source: string): Task {
  const lifecycle = block(t.lifecycle);
  return {
    Name: name,
    Driver: strOr(t.driver),
    User: strOr(t.user),
    Lifecycle: lifecycle ? { Hook: strOr(lifecycle.hook), Sidecar: bool(lifecycle.sidecar) ?? false } : null,
    Config: block(t.config) ?? null,
    Constraints: mapConstraints(t.constraint),
    Affinities: null,
    Env: strMap(t.env),
    Services: mapServices(t.service),
    Resources: mapResources(t.resources, source),
    RestartPolicy: null,
    Meta: strMap(t.meta),
    KillTimeout: durationNs(t.kill_timeout),
    LogConfig: null,
    Artifacts: null,
    Vault: null,
    Templates: mapTemplates(t.template),
    DispatchPayload: null,
    VolumeMounts: mapVolumeMounts(t.volume_mount),
    Leader: bool(t.leader) ?? false,
    ShutdownDelay: durationNs(t.shutdown_delay) ?? 0,
    KillSignal: strOr(t.kill_signal),
    Kind: strOr(t.kind),
    ScalingPolicies: null,
  };
}

function mapGroup(name: string, g: Obj, source: string): TaskGroup {
  return {
    Name: name,
    Count: num(g.count),
    Constraints: mapConstraints(g.constraint),
    Affinities: null,
    Tasks: labelled(g.task, 'task', source).map(([n, t]) => mapTask(n, t, source)),
    Spreads: null,
    Volumes: mapVolumes(g.volume, source),
    RestartPolicy: null,
    ReschedulePolicy: null,
    EphemeralDisk: null,
    Update: mapUpdate(g.update),
    Migrate: null,
    Networks: mapNetworks(g.network, source),
    Meta: strMap(g.meta),
    Services: mapServices(g.service),
    ShutdownDelay: durationNs(g.shutdown_delay),
    Scaling: null,
    Consul: null,
  };
}

function mapJob(id: string, j: Obj, source: string): Job {
  return {
    ID: id,
    Name: str(j.name) ?? id,
    Namespace: str(j.namespace),
    Region: str(j.region),
    Type: str(j.type),
    Priority: num(j.priority),
    AllAtOnce: bool(j.all_at_once),
    Datacenters: strList(j.datacenters),
    NodePool: str(j.node_pool),
    Constraints: mapConstraints(j.constraint),
    Affinities: null,
    TaskGroups: labelled(j.group, 'group', source).map(([n, g]) => mapGroup(n, g, source)),
    Update: mapUpdate(j.update),
    Multiregion: null,
    Spreads: null,
    Periodic: null,
    ParameterizedJob: null,
    Reschedule: null,
    Migrate: null,
    Meta: strMap(j.meta),
    ConsulToken: null,
    VaultToken: null,
    Stop: null,
    ParentID: null,
    Dispatched: false,
    Payload: null,
    Status: null,
    StatusDescription: null,
    Stable: null,
    Version: null,
    SubmitTime: null,
    CreateIndex: null,
    ModifyIndex: null,
    JobModifyIndex: null,
  };
}

/** `Failed to parse job: <diagnostic>` is how Nomad words it; hcl2json wraps it in `parse config: [...]`. */
function diagnostic(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/^parse config: \[/, '').replace(/\]$/, '');
}

async function parseVariablesFile(text: string): Promise<Obj> {
  if (!text.trim()) return {};
  try {
    return await parseHcl('variables.hcl', text);
  } catch (e) {
    throw new JobspecError(diagnostic(e));
  }
}

async function resolveVariables(declared: [string, Obj][], variablesFile: string): Promise<Vars> {
  const given = await parseVariablesFile(variablesFile);
  const vars: Vars = new Map();
  for (const [name, decl] of declared) {
    if (name in given) vars.set(name, given[name]);
    else if ('default' in decl) vars.set(name, decl.default);
    else throw new JobspecError(`Missing required variable; Required variable "${name}" is not set`);
  }
  for (const name of Object.keys(given)) {
    if (!vars.has(name)) throw new JobspecError(`Undefined variable; A "${name}" variable was assigned a value, but not declared`);
  }
  return vars;
}

/** Throws JobspecError with the diagnostic when the HCL does not parse or does not describe one job. */
export async function parseJobspec(source: string, variablesFile = ''): Promise<Job> {
  let tree: Obj;
  try {
    tree = await parseHcl('input.hcl', source);
  } catch (e) {
    throw new JobspecError(diagnostic(e));
  }
  const jobs = labelled(tree.job, 'job', source);
  if (jobs.length !== 1) {
    throw new JobspecError(jobs.length === 0 ? 'Missing job block; A job block is required' : 'Duplicate job block; Only one job block is allowed');
  }
  const vars = await resolveVariables(labelled(tree.variable, 'variable', source), variablesFile);
  const [id, body] = jobs[0] as [string, Obj];
  return mapJob(id, evaluate(body, vars) as Obj, source);
}
