/**
 * knot.yml schema (seed 001 keys plus sqlite/temporal), `KNOT_*` environment overrides, validation.
 *
 * Pure: the caller reads the file and the environment and hands them in, so every rule here is
 * unit-testable. A bad value fails with the key path and the reason, never a stack trace.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import YAML from 'yaml';
import { ErrorType, KnotError, type FieldError } from './errors';
import { DURATION_HINT, isDuration, parseDuration } from './duration';

const bool = z.preprocess((v) => {
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'off', ''].includes(s)) return false;
  }
  return v;
}, z.boolean());

/** YAML may hand us a number for a password or token; env always hands strings. */
const str = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string());
const int = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().int().min(min).max(max));
const port = int(1, 65535);
const duration = z
  .preprocess((v) => (typeof v === 'number' ? `${v}s` : v), z.string())
  .refine(isDuration, { message: DURATION_HINT });

const listen = str.refine((s) => /^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$/.test(s), {
  message: 'must be host:port, e.g. 0.0.0.0:3000',
});
const url = str.refine((s) => /^https?:\/\/[^\s/]+/.test(s), { message: 'must be an http(s) URL' });

/** Express's names for address ranges, accepted beside addresses and CIDRs. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyAddress(s: string): boolean {
  if (PROXY_RANGE_NAMES.includes(s)) return true;
  const [addr = '', bits, ...rest] = s.split('/');
  const family = isIP(addr);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * `server.trust_proxy`: off (`false`, the default), a hop count (how many proxies in front), or
 * the proxies' addresses/CIDRs (a YAML list, or comma-separated in `KNOT_SERVER_TRUST_PROXY`).
 * `true` (trust any X-Forwarded-For) is refused: any client could then pick its own address.
 */
export type TrustProxy = false | number | string[];
const trustProxy = z.preprocess(
  (v) => {
    if (v === undefined || v === null || v === false) return false;
    if (typeof v === 'string') {
      const s = v.trim();
      if (['', 'false', 'off', 'no', '0'].includes(s.toLowerCase())) return false;
      if (/^\d+$/.test(s)) return Number(s);
      return s.split(',').map((p) => p.trim()).filter(Boolean);
    }
    if (v === 0) return false;
    return v;
  },
  z.union([
    z.literal(false),
    z.number().int().min(1).max(10),
    z
      .array(z.string().refine(isProxyAddress, { message: 'must be an IP address, a CIDR (10.0.0.0/8) or loopback/linklocal/uniquelocal' }))
      .min(1),
  ], { error: 'must be false, a hop count (1-10) or a list of proxy addresses/CIDRs' }),
);

const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** `auto`: readable lines when stdout is a terminal, JSON lines otherwise (core/logger.ts chooseLogFormat) */
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const configSchema = z
  .object({
    log: z
      .object({ level: z.enum(logLevels).default('info'), format: z.enum(LOG_FORMATS).default('auto') })
      .strict()
      .prefault({}),
    server: z
      .object({
        listen: listen.default('127.0.0.1:3000'),
        url: url.default('http://127.0.0.1:3000'),
        /**
         * Where the other API replicas reach this one (its own address, not the load balancer's):
         * they relay terminals, SSH and ports to the replica holding a space's agent link.
         * '' = the address it listens on (a wildcard listen address: this host's name).
         */
        advertise_url: z.union([z.literal(''), url]).default(''),
        wildcard_domain: str.default(''),
        download_path: str.optional(),
        /** base64 32-byte key from `knot genkey`; encrypts protected variables and password parameters. */
        encrypt: str.default(''),
        bootstrap_token: str.default(''),
        /** the first admin's password for web sign-in (only when the store has no user yet) */
        bootstrap_password: str.default(''),
        /** how long a web sign-in session lasts */
        session_ttl: duration.default('168h'),
        data_dir: str.default('.data'),
        /** where the `temporal` binaries are installed with pip when not on PATH (default `<project>/.tools`) */
        tools_dir: str.default(''),
        /** a lifecycle operation still pending/running after this long is failed by the cleanup sweep */
        operation_deadline: duration.default('60m'),
        agent_endpoint: str.default(''),
        trust_proxy: trustProxy.default(false),
        metrics: z
          .object({
            enabled: bool.default(true),
            /** when set, GET /metrics needs `Authorization: Bearer <token>` */
            token: str.default(''),
            /** `knot worker` serves its own /metrics here (host:port); '' = not served */
            worker_listen: z.union([z.literal(''), listen]).default(''),
          })
          .strict()
          .prefault({}),
        mysql: z
          .object({
            enabled: bool.default(false),
            host: str.default('127.0.0.1'),
            port: port.default(3306),
            database: str.default('knot'),
            user: str.default(''),
            password: str.default(''),
            connection_limit: int(1, 1000).default(10),
          })
          .strict()
          .prefault({}),
        sqlite: z
          .object({ enabled: bool.default(true), path: str.default('') })
          .strict()
          .prefault({}),
        redis: z
          .object({
            enabled: bool.default(false),
            host: str.default('127.0.0.1:6379'),
            password: str.default(''),
            db: int(0, 255).default(0),
            /** every key knot writes starts with this (several knot installations can share one Redis) */
            prefix: z.string().regex(/^[A-Za-z0-9_:.-]{1,64}$/, 'letters, digits and _ : . - only, at most 64').default('knot:'),
            /** agent state lives this long without a report before it counts as disconnected */
            agent_ttl: duration.default('1m'),
          })
          .strict()
          .prefault({}),
        badgerdb: z.unknown().optional(),
        nomad: z
          .object({
            addr: str.default(''),
            token: str.default(''),
            region: str.default(''),
            namespace: str.default('default'),
            datacenter: str.default('dc1'),
            timeout: duration.default('30s'),
          })
          .strict()
          .prefault({}),
        temporal: z
          .object({
            address: str.default(''),
            namespace: str.default('default'),
            task_queue: str.default('knot'),
            ui_port: port.default(8233),
            /** the Temporal Web UI's base URL for links to workflows; default http://<server.url host>:<ui_port> */
            ui_url: str.default(''),
            /** a pre-built workflow bundle (tests, benchmarks); otherwise the worker bundles workflows at start */
            workflow_bundle: str.default(''),
          })
          .strict()
          .prefault({}),
        schedules: z
          .object({
            enabled: bool.default(true),
            auto_stop_interval: duration.default('1m'),
            cleanup_interval: duration.default('15m'),
            idle_timeout: duration.default('0s'),
            deleted_retention: duration.default('168h'),
            /** audit entries older than this are dropped by the cleanup sweep; 0s keeps them for ever */
            audit_retention: duration.default('2160h'),
            /** owners of dormant spaces (a template's deleteAfter) are warned this long before the deletion */
            dormant_warning: duration.default('72h'),
          })
          .strict()
          .prefault({}),
        /** lifecycle webhooks (core/webhooks.ts) */
        webhooks: z
          .object({
            /** deliver to loopback, private, link-local, CGNAT and metadata addresses (tests, trusted networks) */
            allow_private_networks: bool.default(false),
            /** how long a delivery is retried (with backoff) before it is `failed` */
            retry_for: duration.default('26h'),
            /** the first retry's delay (it doubles, up to 1h) */
            retry_initial: duration.default('5s'),
            /** an endpoint failing without a success for this long is disabled (an audit entry says so) */
            disable_after: duration.default('120h'),
            /** one attempt's timeout (connect, request, response) */
            attempt_timeout: duration.default('10s'),
            /** a crashed worker's dispatcher and in-flight attempts are taken over by another worker after this long */
            heartbeat_timeout: duration.default('15s'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type KnotConfig = z.infer<typeof configSchema>;

/** Every leaf key as a dotted path, e.g. `server.mysql.host`, found by walking the schema. */
export function configKeys(): string[] {
  const keys: string[] = [];
  const walk = (schema: z.ZodType, prefix: string) => {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) {
      for (const [k, v] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
        walk(v, prefix ? `${prefix}.${k}` : k);
      }
    } else if (prefix !== 'server.badgerdb') {
      keys.push(prefix);
    }
  };
  walk(configSchema, '');
  return keys;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodPrefault) {
      s = s.unwrap() as z.ZodType;
    } else {
      return s;
    }
  }
}

/** `server.mysql.host` → `KNOT_SERVER_MYSQL_HOST`. */
export function envNameOf(key: string): string {
  return `KNOT_${key.replace(/\./g, '_').toUpperCase()}`;
}

/** Short aliases documented in the README (the seed's and the issues' names). */
const ENV_ALIASES: Record<string, string> = {
  KNOT_BOOTSTRAP_TOKEN: 'server.bootstrap_token',
  KNOT_BOOTSTRAP_PASSWORD: 'server.bootstrap_password',
  KNOT_LISTEN: 'server.listen',
  KNOT_ADVERTISE_URL: 'server.advertise_url',
  KNOT_ENCRYPT: 'server.encrypt',
  KNOT_TOOLS_DIR: 'server.tools_dir',
  KNOT_WORKFLOW_BUNDLE: 'server.temporal.workflow_bundle',
};

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/**
 * Parse and validate configuration. `yamlText` may be empty (embedded defaults); `env` overrides
 * any key. Throws KnotError(config_invalid) naming every bad key.
 */
export function loadConfig(yamlText: string, env: Record<string, string | undefined> = {}, source = 'knot.yml'): KnotConfig {
  let raw: unknown;
  try {
    raw = yamlText.trim() === '' ? {} : YAML.parse(yamlText);
  } catch (e) {
    throw new KnotError(ErrorType.Config, `${source}: not valid YAML: ${(e as Error).message}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new KnotError(ErrorType.Config, `${source}: top level must be a mapping with 'log' and 'server'`);
  }
  const doc = structuredClone(raw) as Record<string, unknown>;

  for (const key of configKeys()) {
    const v = env[envNameOf(key)];
    if (v !== undefined) setPath(doc, key, v);
  }
  for (const [name, key] of Object.entries(ENV_ALIASES)) {
    const v = env[name];
    if (v !== undefined) setPath(doc, key, v);
  }

  const server = doc.server as Record<string, unknown> | undefined;
  const badger = server?.badgerdb as Record<string, unknown> | undefined;
  if (badger && (badger.enabled === true || badger.enabled === 'true')) {
    throw new KnotError(
      ErrorType.Config,
      `${source}: server.badgerdb: BadgerDB is not supported by this knot; use the embedded SQLite store instead ` +
        `(server.sqlite.enabled: true, server.sqlite.path: ${String(badger.path ?? '/data/')}knot.db)`,
      { errors: [{ path: 'server.badgerdb', message: 'not supported; use server.sqlite' }] },
    );
  }

  const parsed = configSchema.safeParse(doc);
  if (!parsed.success) {
    const errors: FieldError[] = parsed.error.issues.map((i) => ({
      path: i.path.map(String).join('.') || '(root)',
      message: i.code === 'unrecognized_keys' ? `unknown key(s): ${i.keys.join(', ')}` : i.message,
    }));
    throw new KnotError(
      ErrorType.Config,
      `${source}: invalid configuration:\n` + errors.map((e) => `  ${e.path}: ${e.message}`).join('\n'),
      { errors },
    );
  }
  const cfg = parsed.data;
  if (cfg.server.mysql.enabled) {
    const missing: FieldError[] = [];
    if (!cfg.server.mysql.user) missing.push({ path: 'server.mysql.user', message: 'required when mysql is enabled' });
    if (!cfg.server.mysql.database) missing.push({ path: 'server.mysql.database', message: 'required when mysql is enabled' });
    if (missing.length) {
      throw new KnotError(
        ErrorType.Config,
        `${source}: invalid configuration:\n` + missing.map((e) => `  ${e.path}: ${e.message}`).join('\n'),
        { errors: missing },
      );
    }
  }
  settleStore(cfg, doc, source);
  if (cfg.server.encrypt) {
    const key = Buffer.from(cfg.server.encrypt, 'base64');
    if (key.length !== 32) {
      throw new KnotError(
        ErrorType.Config,
        `${source}: invalid configuration:\n  server.encrypt: must be a base64 32-byte key (run 'knot genkey')`,
        { errors: [{ path: 'server.encrypt', message: "must be a base64 32-byte key (run 'knot genkey')" }] },
      );
    }
  }
  if (!cfg.server.sqlite.path) cfg.server.sqlite.path = `${cfg.server.data_dir.replace(/\/$/, '')}/knot.db`;
  return cfg;
}

/**
 * Which store holds knot's data (seed 001): MySQL when enabled; else Redis alone when
 * `server.redis.enabled` and SQLite was not enabled explicitly ("Without MySQL — The knot server can
 * be run using a Redis server"); else the embedded SQLite file. With MySQL and Redis, Redis holds
 * agent state only.
 */
export type StoreChoice = 'mysql' | 'redis' | 'sqlite';

export function storeChoice(cfg: KnotConfig): StoreChoice {
  if (cfg.server.mysql.enabled) return 'mysql';
  if (cfg.server.sqlite.enabled) return 'sqlite';
  return 'redis';
}

/**
 * Settles `server.sqlite.enabled` so `storeChoice` can read it: off under MySQL, off with Redis
 * unless it was set explicitly (`server.sqlite.enabled: true` keeps the SQLite store beside Redis
 * agent state), and a configuration that enables no store at all is refused.
 */
function settleStore(cfg: KnotConfig, doc: Record<string, unknown>, source: string): void {
  const sqlite = (doc.server as Record<string, unknown> | undefined)?.sqlite as Record<string, unknown> | undefined;
  const sqliteExplicit = sqlite !== undefined && sqlite !== null && 'enabled' in sqlite;
  if (cfg.server.mysql.enabled) cfg.server.sqlite.enabled = false;
  else if (cfg.server.redis.enabled && !sqliteExplicit) cfg.server.sqlite.enabled = false;
  if (!cfg.server.mysql.enabled && !cfg.server.sqlite.enabled && !cfg.server.redis.enabled) {
    throw new KnotError(ErrorType.Config, `${source}: invalid configuration:\n  server.sqlite.enabled: no store is enabled; enable server.sqlite, server.mysql or server.redis`, {
      errors: [{ path: 'server.sqlite.enabled', message: 'no store is enabled; enable server.sqlite, server.mysql or server.redis' }],
    });
  }
}

/** A config duration in ms (the schema has checked it); throws naming the text when it is not one. */
export function parseDurationMs(d: string): number {
  const ms = parseDuration(d);
  if (ms === undefined) throw new KnotError(ErrorType.Validation, `not a duration: ${d}`);
  return ms;
}

/** Split `host:port` (IPv6 in brackets allowed). */
export function splitHostPort(s: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]*)(?::(\d+))?$/.exec(s);
  if (!m) return { host: s, port: defaultPort };
  return { host: m[1] || '127.0.0.1', port: m[2] ? Number(m[2]) : defaultPort };
}

/** Config as it may be logged: secrets replaced. */
export function redactConfig(cfg: KnotConfig): unknown {
  const c = structuredClone(cfg);
  const mask = (v: string) => (v ? '[redacted]' : '');
  c.server.encrypt = mask(c.server.encrypt);
  c.server.bootstrap_token = mask(c.server.bootstrap_token);
  c.server.bootstrap_password = mask(c.server.bootstrap_password);
  c.server.mysql.password = mask(c.server.mysql.password);
  c.server.redis.password = mask(c.server.redis.password);
  c.server.nomad.token = mask(c.server.nomad.token);
  c.server.metrics.token = mask(c.server.metrics.token);
  return c;
}
