/**
 * Runs the contract probes against one Nomad API (sandbox or real) and turns every recorded step
 * into a normalized observation: the status, the error text of a non-2xx answer, a shape signature
 * of a JSON body (each key path with its value type; ids, indexes and timestamps are thereby masked)
 * and the few values a probe chose to compare. `diffObservations` compares two runs step by step;
 * `acceptedDifferences` reads the table of known, accepted differences from
 * docs/nomad-sandbox-differences.md (the table is the source of truth; the test only reads it).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Answer, Probe, ProbeContext, ProbeTarget, StepOptions } from './probes';

export interface Observation {
  probe: string;
  step: string;
  /** `METHOD path` with the run prefix and UUIDs masked; informational. */
  request: string;
  status?: number;
  /** Non-2xx: the error text. 2xx: '' when the body is empty, '<json>' when JSON, else the text. */
  body?: string;
  /** Key path → value type, for JSON bodies. */
  shape?: Record<string, string>;
  values?: unknown;
  /** Set when the probe failed at this point (a wait that timed out, a request that threw). */
  error?: string;
}

export type DifferenceKind = 'status' | 'body' | 'shape' | 'value' | 'error' | 'missing';

export interface Difference {
  probe: string;
  step: string;
  kind: DifferenceKind;
  detail: string;
  sandbox: unknown;
  real: unknown;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function mask(text: string, run: string): string {
  return text.split(run).join('<run>').replace(UUID, '<uuid>');
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Key path → type. Array elements merge under `[]`; keys that are ids (UUIDs) become `<uuid>`. */
export function shapeOf(value: unknown, run = '\u0000'): Record<string, string> {
  const out: Record<string, Set<string>> = {};
  const walk = (v: unknown, p: string): void => {
    (out[p] ??= new Set()).add(typeOf(v));
    if (Array.isArray(v)) for (const e of v) walk(e, `${p}[]`);
    else if (v && typeof v === 'object') for (const [k, e] of Object.entries(v)) walk(e, `${p}.${mask(k, run)}`);
  };
  walk(value, '$');
  return Object.fromEntries(Object.entries(out).map(([k, s]) => [k, [...s].sort().join('|')]));
}

function maskValues(v: unknown, run: string): unknown {
  if (typeof v === 'string') return mask(v, run);
  if (Array.isArray(v)) return v.map((e) => maskValues(e, run));
  // Sorted keys: key order is not part of the contract.
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]): [string, unknown] => [mask(k, run), maskValues(e, run)]).sort(([a], [b]) => a.localeCompare(b)));
  return v;
}

async function request(baseUrl: string, method: string, urlPath: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${baseUrl}${urlPath}`, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text.trim() ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

export function normalize(answer: Answer, run: string, opts: StepOptions = {}): Pick<Observation, 'status' | 'body' | 'shape' | 'values'> {
  const ok = answer.status >= 200 && answer.status < 300;
  const out: Pick<Observation, 'status' | 'body' | 'shape' | 'values'> = { status: answer.status };
  if (!ok) out.body = mask(answer.text, run);
  else if (answer.json !== undefined) {
    out.body = '<json>';
    out.shape = shapeOf(answer.json, run);
    if (opts.values) {
      try {
        out.values = maskValues(opts.values(answer.json), run);
      } catch (e) {
        out.values = `<values failed: ${(e as Error).message}>`;
      }
    }
  } else out.body = mask(answer.text, run);
  return out;
}

export async function runProbes(target: ProbeTarget, probes: Probe[], log: (line: string) => void = () => {}): Promise<Observation[]> {
  const observations: Observation[] = [];
  for (const probe of probes) {
    const run = `dp${randomBytes(3).toString('hex')}`;
    const ctx: ProbeContext = {
      run,
      target,
      send: (method, urlPath, body) => request(target.url, method, urlPath, body),
      async step(name, method, urlPath, body, opts) {
        const answer = await request(target.url, method, urlPath, body);
        observations.push({ probe: probe.name, step: name, request: mask(`${method} ${urlPath}`, run), ...normalize(answer, run, opts) });
        return answer;
      },
      note(name, value) {
        observations.push({ probe: probe.name, step: name, request: '(observation)', values: maskValues(value, run) });
      },
      async waitFor(what, fn) {
        const deadline = Date.now() + target.waitTimeoutMs;
        for (;;) {
          const v = await fn();
          if (v !== undefined) return v;
          if (Date.now() > deadline) throw new Error(`timed out after ${target.waitTimeoutMs} ms waiting for ${mask(what, run)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
    };
    const started = Date.now();
    try {
      await probe.run(ctx);
    } catch (e) {
      observations.push({ probe: probe.name, step: '(probe failed)', request: '', error: mask((e as Error).message, run) });
    }
    log(`${target.label}: ${probe.name} (${Date.now() - started} ms)`);
  }
  return observations;
}

const keyOf = (o: { probe: string; step: string }): string => `${o.probe}\u0000${o.step}`;
const show = (v: unknown): string => (v === undefined ? '(absent)' : JSON.stringify(v));

/**
 * Differences of the sandbox from the real agent. Shapes: every key path the sandbox answers must
 * exist on the real agent with the same type (knot, built against the sandbox, may read it); key
 * paths only the real agent has are counted in `realOnlyPaths` but are not differences.
 */
export function diffObservations(sandbox: Observation[], real: Observation[]): { differences: Difference[]; realOnlyPaths: Record<string, string[]> } {
  const differences: Difference[] = [];
  const realOnlyPaths: Record<string, string[]> = {};
  const realByKey = new Map(real.map((o) => [keyOf(o), o]));
  const sandboxKeys = new Set(sandbox.map(keyOf));
  const add = (o: { probe: string; step: string }, kind: DifferenceKind, detail: string, s: unknown, r: unknown): void => {
    differences.push({ probe: o.probe, step: o.step, kind, detail, sandbox: s, real: r });
  };
  for (const s of sandbox) {
    const r = realByKey.get(keyOf(s));
    if (!r) {
      add(s, 'missing', 'step only on the sandbox', s.error ?? s.status, undefined);
      continue;
    }
    if (s.error !== undefined || r.error !== undefined) {
      if (s.error !== r.error) add(s, 'error', 'probe failed', s.error, r.error);
      continue;
    }
    if (s.status !== r.status) add(s, 'status', `${show(s.status)} vs ${show(r.status)}`, s.status, r.status);
    if (s.body !== r.body) add(s, 'body', 'body differs', s.body, r.body);
    if (s.shape || r.shape) {
      const ss = s.shape ?? {};
      const rs = r.shape ?? {};
      for (const [p, t] of Object.entries(ss)) {
        if (!(p in rs)) {
          // Report the top of an absent subtree only.
          const parent = p.replace(/(\.[^.[\]]+|\[\])$/, '');
          if (parent !== p && parent in ss && !(parent in rs)) continue;
          add(s, 'shape', `${p}: ${t} vs (absent)`, t, undefined);
        } else if (rs[p] !== t) add(s, 'shape', `${p}: ${t} vs ${rs[p]}`, t, rs[p]);
      }
      const only = Object.keys(rs).filter((p) => !(p in ss));
      if (only.length) realOnlyPaths[`${s.probe} / ${s.step}`] = only;
    }
    if (JSON.stringify(s.values) !== JSON.stringify(r.values)) add(s, 'value', 'values differ', s.values, r.values);
  }
  for (const r of real) if (!sandboxKeys.has(keyOf(r))) add(r, 'missing', 'step only on the real agent', undefined, r.error ?? r.status);
  return { differences, realOnlyPaths };
}

export interface AcceptedDifference {
  probe: string;
  step: string;
  kind: string;
  detail: string;
  versions: string;
  why: string;
}

export const DIFFERENCES_DOC = path.resolve(__dirname, '../../docs/nomad-sandbox-differences.md');

const cell = (c: string): string => c.trim().replace(/^`(.*)`$/, '$1').replace(/\\\|/g, '|');

/** The rows of the accepted-differences table (between the `accepted-differences` markers). */
export function acceptedDifferences(file = DIFFERENCES_DOC): AcceptedDifference[] {
  const text = readFileSync(file, 'utf8');
  const block = /<!-- accepted-differences:start -->([\s\S]*?)<!-- accepted-differences:end -->/.exec(text)?.[1] ?? '';
  return block
    .split('\n')
    .filter((l) => l.trim().startsWith('|'))
    .map((l) => l.trim().slice(1, -1).split(/(?<!\\)\|/).map(cell))
    .filter((c) => c.length >= 6 && c[0] !== 'Probe' && !/^-+$/.test(c[0] ?? ''))
    .map(([probe, step, kind, detail, versions, why]) => ({ probe: probe ?? '', step: step ?? '', kind: kind ?? '', detail: detail ?? '', versions: versions ?? '', why: why ?? '' }));
}

/** `*` matches any run of characters; everything else literally. */
function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
}

export function isAccepted(d: Difference, rows: AcceptedDifference[]): AcceptedDifference | undefined {
  return rows.find((a) => glob(a.probe).test(d.probe) && glob(a.step).test(d.step) && glob(a.kind).test(d.kind) && glob(a.detail).test(d.detail));
}

export function differencesMarkdown(title: string, differences: Difference[], rows: AcceptedDifference[], realOnlyPaths: Record<string, string[]>): string {
  const esc = (v: unknown): string => show(v).replace(/\|/g, '\\|').replace(/\n/g, '\\n').slice(0, 400);
  const lines = [
    `# ${title}`,
    '',
    `${differences.length} differences; ${differences.filter((d) => !isAccepted(d, rows)).length} not in the accepted table (docs/nomad-sandbox-differences.md).`,
    '',
    '| Accepted | Probe | Step | Kind | Detail | Sandbox | Real |',
    '|---|---|---|---|---|---|---|',
    ...differences.map((d) => `| ${isAccepted(d, rows) ? 'yes' : '**NEW**'} | ${d.probe} | ${d.step} | ${d.kind} | ${esc(d.detail)} | ${esc(d.sandbox)} | ${esc(d.real)} |`),
    '',
    '## Key paths only the real agent answers (not differences: knot cannot have come to rely on them)',
    '',
    ...Object.entries(realOnlyPaths).map(([k, ps]) => `- ${k}: ${ps.length} paths (${ps.slice(0, 12).join(', ')}${ps.length > 12 ? ', …' : ''})`),
    '',
  ];
  return lines.join('\n');
}
