/**
 * The `${{ expr }}` template language used in a template's Nomad job (HCL) and volume definitions (YAML).
 *
 *   ${{ .space.id }}   ${{ user.timezone }}   ${{ .param.size | default "10G" | toUpper }}
 *
 * An expression is one name (`.root.key`, the leading dot optional) followed by Go-template style pipes:
 * `default "x"`, `quote`, `toUpper`, `toLower`, `json`. Unknown names, missing values and malformed
 * expressions are errors that name the expression and its line:column; all of them are collected.
 * Nothing ever renders as a silent empty string.
 *
 * Escaping (how a value is inserted) depends on the target language, because values come from users
 * (space names, parameters) and must never change the structure of the document:
 *
 * - `hcl`: the renderer follows the HCL lexical context around every expression.
 *   - inside a quoted string: `\` `"` newline CR tab and other control characters are escaped, and
 *     HCL template sequences are neutralised (`${` → `$${`, `%{` → `%%{`, including sequences formed
 *     together with the neighbouring literal text), so the string literal holds exactly the value.
 *   - inside a heredoc: only the template sequences are neutralised (heredocs have no backslash
 *     escapes); a value may not contain a line that would end the heredoc.
 *   - outside strings ("code"): only numbers, booleans and simple tokens (`[A-Za-z0-9_.+-]`) may be
 *     inserted bare; anything else must go through `| quote`, which emits a complete HCL string literal.
 *     `quote`/`json` inside a quoted string are an error (they would produce `""value""`).
 *   - inside a comment: line breaks and `*` `/` (as in the end of a block comment) are defused so the value can't end the comment.
 * - `yaml`: rendering is structural. The YAML is parsed first and expressions are rendered inside each
 *   scalar's *value*; the document is then serialised again by the YAML library. A value therefore
 *   can never add keys or items whatever it contains or however the scalar was written (plain,
 *   quoted, block). A plain scalar that is entirely simple tokens after rendering is re-typed as YAML
 *   would (`10` → number, `true` → boolean); `| quote` forces a string, `| json` keeps the value's
 *   native type. Positions of problems inside escaped or multi-line YAML scalars are approximate.
 * - `none`: values are inserted verbatim (for plain text such as messages); `quote`/`json` give JSON.
 *
 * The `default` pipe replaces a missing value or an empty string (not `false` or `0`). A missing
 * value is only allowed when `default` is the first pipe.
 */
import YAML from 'yaml';
import { ErrorType, KnotError, type FieldError } from './errors';
import { BARE_TOKEN, HclTracker, escapeForHcl, plainText, type Evaluated, type RenderValue } from './hcl-escape';

export type { RenderValue } from './hcl-escape';
export { escapeHclString, quoteHcl } from './hcl-escape';

/**
 * What `${{ .space.agent_token }}` renders to wherever no real token is at hand: template
 * validation, the create-time parse check, plans the API shows. Only the activity that registers
 * the space's job mints a real token and renders with it, so a token never leaves that activity.
 */
export const AGENT_TOKEN_PLACEHOLDER = '(agent token: minted at start)';

export interface RenderContext {
  /** `agent_token` absent: the placeholder renders */
  space: { id: string; name: string; agent_token?: string };
  user: { id: string; username: string; email: string; timezone: string };
  server: { url: string; wildcard_domain: string; agent_endpoint: string };
  template: { id: string; name: string };
  nomad: { dc: string; region: string };
  var: Record<string, string>;
  param: Record<string, RenderValue>;
}

export type EscapeMode = 'hcl' | 'yaml' | 'none';

export interface RenderOptions {
  escape: EscapeMode;
  /** Field name used as the `path` of FieldErrors, e.g. `job` or `volumes`. */
  path?: string;
}

/** The fixed names; `var` and `param` take any identifier. */
export const FIXED_NAMES: Readonly<Record<string, readonly string[]>> = {
  space: ['id', 'name', 'agent_token'],
  user: ['id', 'username', 'email', 'timezone'],
  server: ['url', 'wildcard_domain', 'agent_endpoint'],
  template: ['id', 'name'],
  nomad: ['dc', 'region'],
};
const OPEN_ROOTS = ['var', 'param'] as const;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

type PipeName = 'default' | 'quote' | 'toUpper' | 'toLower' | 'json';
const PIPE_ARITY: Record<PipeName, number> = { default: 1, quote: 0, toUpper: 0, toLower: 0, json: 0 };
/** These produce a finished literal of the target language, so nothing may follow them. */
const FINAL_PIPES: ReadonlySet<PipeName> = new Set(['quote', 'json']);

export interface PipeCall {
  name: PipeName;
  args: RenderValue[];
}

export interface TemplateExpression {
  /** The whole expression as written, `${{ .space.id }}`. */
  source: string;
  /** Offset of `${{` in the text (or in the scalar value, for YAML). */
  offset: number;
  /** Offset just after `}}`. */
  end: number;
  line: number;
  column: number;
  /** `['space', 'id']`, `['param', 'size']`; null when the name itself is malformed. */
  name: [string, string] | null;
  pipes: PipeCall[];
}

export interface TemplateProblem {
  line: number;
  column: number;
  expression: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------------
// Parsing

interface ScanResult {
  expressions: TemplateExpression[];
  problems: TemplateProblem[];
}

/** Maps an offset in the scanned text to a line:column in the original document. */
type PositionOf = (offset: number) => { line: number; column: number };

function textPositions(text: string): PositionOf {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (lineStarts[lo] ?? 0) + 1 };
  };
}

/** Finds every `${{ … }}` in `text`; malformed ones become problems, well-formed ones expressions. */
function scan(text: string, positionOf: PositionOf = textPositions(text)): ScanResult {
  const expressions: TemplateExpression[] = [];
  const problems: TemplateProblem[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf('${{', from);
    if (start < 0) break;
    const pos = positionOf(start);
    const close = findClose(text, start + 3);
    if (close < 0) {
      const lineEnd = text.indexOf('\n', start);
      const snippet = text.slice(start, lineEnd < 0 ? undefined : lineEnd);
      problems.push({ ...pos, expression: snippet, message: 'unclosed `${{` (expected `}}` on the same line)' });
      // Whatever follows on this line belongs to the broken expression; keep looking after it.
      from = lineEnd < 0 ? text.length : lineEnd;
      continue;
    }
    const source = text.slice(start, close + 2);
    const parsed = parseExpression(text.slice(start + 3, close));
    if (parsed.errors.length > 0) {
      // A malformed expression is reported once, for its syntax, and never evaluated.
      for (const message of parsed.errors) problems.push({ ...pos, expression: source, message });
    } else {
      expressions.push({ source, offset: start, end: close + 2, ...pos, name: parsed.name, pipes: parsed.pipes });
    }
    from = close + 2;
  }
  return { expressions, problems };
}

/** Index of the `}}` closing an expression body starting at `from`, skipping string literals; -1 if none. */
function findClose(text: string, from: number): number {
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') return -1;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === '$' && text.startsWith('${{', i)) {
      return -1;
    } else if (ch === '}' && text[i + 1] === '}') {
      return i;
    }
  }
  return -1;
}

type Token = { kind: 'pipe' } | { kind: 'word'; text: string } | { kind: 'literal'; value: RenderValue };

function tokenize(body: string): { tokens: Token[]; error?: string } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '|') {
      tokens.push({ kind: 'pipe' });
      i++;
    } else if (ch === '"') {
      let value = '';
      let j = i + 1;
      let closed = false;
      while (j < body.length) {
        const c = body[j] ?? '';
        if (c === '"') {
          closed = true;
          break;
        }
        if (c === '\\') {
          const next = body[j + 1];
          const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
          const mapped = next === undefined ? undefined : escapes[next];
          if (mapped === undefined) return { tokens, error: `invalid escape \\${next ?? ''} in string literal` };
          value += mapped;
          j += 2;
        } else {
          value += c;
          j++;
        }
      }
      if (!closed) return { tokens, error: 'unterminated string literal' };
      tokens.push({ kind: 'literal', value });
      i = j + 1;
    } else if (/[-0-9]/.test(ch)) {
      const m = /^-?\d+(\.\d+)?/.exec(body.slice(i));
      if (!m) return { tokens, error: `unexpected character '${ch}'` };
      tokens.push({ kind: 'literal', value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_.]/.test(ch)) {
      const m = /^[A-Za-z0-9_.]+/.exec(body.slice(i));
      const word = m?.[0] ?? ch;
      tokens.push(word === 'true' || word === 'false' ? { kind: 'literal', value: word === 'true' } : { kind: 'word', text: word });
      i += word.length;
    } else {
      return { tokens, error: `unexpected character '${ch}'` };
    }
  }
  return { tokens };
}

function parseExpression(body: string): { name: [string, string] | null; pipes: PipeCall[]; errors: string[] } {
  const errors: string[] = [];
  const { tokens, error } = tokenize(body);
  if (error) return { name: null, pipes: [], errors: [error] };

  // Split into the head (the name) and the pipe stages.
  const stages: Token[][] = [[]];
  for (const t of tokens) {
    if (t.kind === 'pipe') stages.push([]);
    else stages[stages.length - 1]?.push(t);
  }
  const [head = [], ...pipeStages] = stages;

  let name: [string, string] | null = null;
  const first = head[0];
  if (head.length === 0) errors.push('empty expression: expected a name such as .space.id');
  else if (head.length > 1 || first?.kind !== 'word') errors.push('expected a single name such as .space.id before the first pipe');
  else {
    name = parseName(first.text, errors);
  }

  const pipes: PipeCall[] = [];
  pipeStages.forEach((stage, index) => {
    const [pipeWord, ...argTokens] = stage;
    if (!pipeWord) {
      errors.push('empty pipe: expected a function after `|`');
      return;
    }
    if (pipeWord.kind !== 'word' || !Object.hasOwn(PIPE_ARITY, pipeWord.text)) {
      const shown = pipeWord.kind === 'word' ? pipeWord.text : pipeWord.kind === 'literal' ? JSON.stringify(pipeWord.value) : '|';
      errors.push(`unknown pipe '${shown}' (known: ${Object.keys(PIPE_ARITY).join(', ')})`);
      return;
    }
    const pipeName = pipeWord.text as PipeName;
    const args: RenderValue[] = [];
    for (const a of argTokens) {
      if (a.kind === 'literal') args.push(a.value);
      else errors.push(`argument of ${pipeName} must be a literal ("text", a number, true or false), got '${a.kind === 'word' ? a.text : '|'}'`);
    }
    if (args.length !== PIPE_ARITY[pipeName] && argTokens.every((a) => a.kind === 'literal')) {
      errors.push(`${pipeName} takes ${PIPE_ARITY[pipeName]} argument(s), got ${args.length}`);
    }
    if (FINAL_PIPES.has(pipeName) && index !== pipeStages.length - 1) {
      errors.push(`${pipeName} must be the last pipe`);
    }
    pipes.push({ name: pipeName, args });
  });
  return { name, pipes, errors };
}

function parseName(text: string, errors: string[]): [string, string] | null {
  const parts = (text.startsWith('.') ? text.slice(1) : text).split('.');
  const [root, key] = parts;
  if (parts.length !== 2 || !root || !key) {
    errors.push(`malformed name '${text}': expected .root.key such as .space.id, .var.NAME or .param.NAME`);
    return null;
  }
  if ((OPEN_ROOTS as readonly string[]).includes(root)) {
    if (!IDENTIFIER.test(key)) {
      errors.push(`malformed name '${text}': ${root} names are letters, digits and _`);
      return null;
    }
    return [root, key];
  }
  const keys = FIXED_NAMES[root];
  if (!keys) {
    errors.push(`unknown name '${text}': .${root} is not one of .${[...Object.keys(FIXED_NAMES), ...OPEN_ROOTS].join(', .')}`);
    return null;
  }
  if (!keys.includes(key)) {
    errors.push(`unknown name '${text}': .${root} has ${keys.map((k) => `.${root}.${k}`).join(', ')}`);
    return null;
  }
  return [root, key];
}

// ---------------------------------------------------------------------------------------------------
// Evaluation


function lookup(ctx: RenderContext, [root, key]: [string, string]): RenderValue | undefined {
  if (root === 'var') return Object.hasOwn(ctx.var, key) ? ctx.var[key] : undefined;
  if (root === 'param') return Object.hasOwn(ctx.param, key) ? ctx.param[key] : undefined;
  if (root === 'space' && key === 'agent_token') return ctx.space.agent_token ?? AGENT_TOKEN_PLACEHOLDER;
  const group = (ctx as unknown as Record<string, Record<string, unknown> | undefined>)[root];
  const v = group?.[key];
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
}

function evaluate(expr: TemplateExpression, ctx: RenderContext): { result?: Evaluated; error?: string } {
  if (!expr.name) return { error: 'malformed name' };
  const shownName = `.${expr.name.join('.')}`;
  let value = lookup(ctx, expr.name);
  for (const pipe of expr.pipes) {
    if (pipe.name === 'default') {
      if (value === undefined || value === '') value = pipe.args[0] ?? '';
      continue;
    }
    if (value === undefined) break;
    switch (pipe.name) {
      case 'toUpper':
        value = String(value).toUpperCase();
        break;
      case 'toLower':
        value = String(value).toLowerCase();
        break;
      case 'quote':
        return { result: { kind: 'quoted', value: String(value) } };
      case 'json':
        return { result: { kind: 'json', value } };
    }
  }
  if (value === undefined) {
    const [root] = expr.name;
    const hint = root === 'var' || root === 'param' ? ` (no such ${root === 'var' ? 'variable' : 'parameter'} value; add \`| default "…"\` right after the name to make it optional)` : '';
    return { error: `no value for ${shownName}${hint}` };
  }
  return { result: { kind: 'value', value } };
}

function renderError(path: string, problems: TemplateProblem[]): KnotError {
  const errors: FieldError[] = problems.map((p) => ({ path, message: formatProblem(p) }));
  return new KnotError(ErrorType.TemplateRender, `${path}: ${errors.map((e) => e.message).join('; ')}`, {
    errors,
    details: { problems },
  });
}

function formatProblem(p: TemplateProblem): string {
  return `${p.line}:${p.column}: ${p.message} in ${p.expression}`;
}

// ---------------------------------------------------------------------------------------------------
// Public API

/**
 * Every `${{ }}` expression in `text`. Throws KnotError(TemplateRender) listing every malformed one.
 * With `format: 'yaml'` the expressions are read from the YAML scalars' values (so `\"` inside a
 * double-quoted scalar is read as `"`), which is how they are rendered.
 */
export function findTemplateExpressions(text: string, opts: { format?: 'text' | 'yaml'; path?: string } = {}): TemplateExpression[] {
  const path = opts.path ?? 'template';
  const { expressions, problems } = opts.format === 'yaml' ? scanYaml(text) : scan(text);
  if (problems.length > 0) throw renderError(path, problems);
  return expressions;
}

export interface KnownNames {
  vars: Iterable<string>;
  params: Iterable<string>;
  /**
   * Declared parameters that may have no value at render time (not required, no default): an
   * expression using one must start its pipes with `default`, or some spaces would fail to render.
   */
  optionalParams?: Iterable<string>;
}

/**
 * Save-time check: every problem (syntax, unknown name, undeclared variable or parameter) as
 * FieldErrors under `path`, never throwing. `.var.X` must be a known variable and `.param.X` a
 * declared parameter even when piped through `default`: an undeclared name there is a typo.
 */
export function checkTemplate(text: string, known: KnownNames, opts: { format?: 'text' | 'yaml'; path?: string } = {}): FieldError[] {
  const path = opts.path ?? 'template';
  const { expressions, problems } = opts.format === 'yaml' ? scanYaml(text) : scan(text);
  const vars = new Set(known.vars);
  const params = new Set(known.params);
  const optional = new Set(known.optionalParams ?? []);
  const all = [...problems];
  for (const e of expressions) {
    if (!e.name) continue;
    const [root, key] = e.name;
    const at = { line: e.line, column: e.column, expression: e.source };
    if (root === 'var' && !vars.has(key)) all.push({ ...at, message: `unknown variable '${key}'` });
    if (root === 'param' && !params.has(key)) all.push({ ...at, message: `unknown parameter '${key}' (not declared in parameters)` });
    if (root === 'param' && optional.has(key) && e.pipes[0]?.name !== 'default') {
      all.push({ ...at, message: `parameter '${key}' is optional and has no defaultValue: add \`| default "…"\` or give it a defaultValue` });
    }
  }
  all.sort((a, b) => a.line - b.line || a.column - b.column);
  return all.map((p) => ({ path, message: formatProblem(p) }));
}

/** An expression's place in the template (`from`, `to`) and its value's in the output (`outFrom`, `outTo`). */
export interface RenderedSpan {
  from: number;
  to: number;
  outFrom: number;
  outTo: number;
}

/** Renders `text`, or throws KnotError(TemplateRender) listing every problem with its line:column. */
export function renderTemplate(text: string, ctx: RenderContext, opts: RenderOptions): string {
  return renderTemplateMapped(text, ctx, opts).text;
}

/**
 * renderTemplate, and where each value landed, so a problem found in the output (Nomad parsing the
 * job) can be placed in the template. YAML is re-serialised as a whole: no spans.
 */
export function renderTemplateMapped(text: string, ctx: RenderContext, opts: RenderOptions): { text: string; spans: RenderedSpan[] } {
  const path = opts.path ?? 'template';
  if (opts.escape === 'yaml') return { text: renderYaml(text, ctx, path), spans: [] };

  const { expressions, problems } = scan(text);
  const tracker = new HclTracker();
  const spans: RenderedSpan[] = [];
  let plain = '';
  let cursor = 0;
  expressions.forEach((expr, index) => {
    const literal = text.slice(cursor, expr.offset);
    cursor = expr.end;
    const nextLiteral = text.slice(expr.end, expressions[index + 1]?.offset ?? text.length);
    if (opts.escape === 'hcl') tracker.appendLiteral(literal);
    else plain += literal;
    if (!expr.name) return; // already a problem
    const { result, error } = evaluate(expr, ctx);
    if (!result) {
      problems.push({ line: expr.line, column: expr.column, expression: expr.source, message: error ?? 'cannot evaluate' });
      return;
    }
    if (opts.escape === 'none') {
      const value = plainText(result);
      spans.push({ from: expr.offset, to: expr.end, outFrom: plain.length, outTo: plain.length + value.length });
      plain += value;
      return;
    }
    const escaped = escapeForHcl(result, tracker.context(), tracker, nextLiteral);
    if (escaped.text === undefined) {
      problems.push({ line: expr.line, column: expr.column, expression: expr.source, message: escaped.error ?? 'cannot escape' });
      return;
    }
    const outFrom = tracker.output.length;
    tracker.appendValue(escaped.text);
    spans.push({ from: expr.offset, to: expr.end, outFrom, outTo: tracker.output.length });
  });
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw renderError(path, problems);
  }
  const rest = text.slice(cursor);
  if (opts.escape === 'hcl') {
    tracker.appendLiteral(rest);
    return { text: tracker.output, spans };
  }
  return { text: plain + rest, spans };
}

// ---------------------------------------------------------------------------------------------------
// YAML (structural)

interface YamlScalarHit {
  node: YAML.Scalar;
  value: string;
  scan: ScanResult;
}

interface ParsedYaml {
  doc: YAML.Document.Parsed;
  hits: YamlScalarHit[];
  problems: TemplateProblem[];
}

/**
 * Parsed YAML templates by text: a template version is immutable and its volumes render on every
 * start, so each text is parsed once. A rendering writes its values into the cached document's
 * scalars and puts them back before it returns (withSubstitutedYaml), so the entry stays as parsed.
 */
const parsedYaml = new Map<string, ParsedYaml>();
const PARSED_YAML_MAX = 64;

function yamlScalarsWithExpressions(text: string): ParsedYaml {
  let parsed = parsedYaml.get(text);
  if (!parsed) {
    if (parsedYaml.size >= PARSED_YAML_MAX) parsedYaml.clear();
    parsed = parseYamlScalars(text);
    parsedYaml.set(text, parsed);
  }
  return parsed;
}

function parseYamlScalars(text: string): ParsedYaml {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter });
  const problems: TemplateProblem[] = doc.errors.map((e) => ({
    line: e.linePos?.[0]?.line ?? 1,
    column: e.linePos?.[0]?.col ?? 1,
    expression: '(YAML)',
    message: `YAML does not parse: ${e.message.split('\n')[0] ?? e.code}`,
  }));
  const hits: YamlScalarHit[] = [];
  if (problems.length > 0) return { doc, hits, problems };
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${{')) return;
      const start = node.range?.[0] ?? 0;
      // Quoted scalars start with their quote; the value's offsets are exact for single-line,
      // unescaped scalars and close enough (same line) otherwise.
      const shift = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
      const positionOf: PositionOf = (offset) => {
        const p = lineCounter.linePos(start + shift + offset);
        return { line: p.line, column: p.col };
      };
      hits.push({ node, value: node.value, scan: scan(node.value, positionOf) });
    },
  });
  return { doc, hits, problems };
}

function scanYaml(text: string): ScanResult {
  const { hits, problems } = yamlScalarsWithExpressions(text);
  return {
    expressions: hits.flatMap((h) => h.scan.expressions),
    problems: [...problems, ...hits.flatMap((h) => h.scan.problems)],
  };
}

function renderYaml(text: string, ctx: RenderContext, path: string): string {
  // Nothing to substitute: hand the text back as written rather than re-serialised.
  return withSubstitutedYaml(text, ctx, path, (doc, substituted) => (substituted ? doc.toString({ lineWidth: 0 }) : text));
}

/**
 * A YAML template rendered straight to its data: what `YAML.parse` of renderTemplate's text gives,
 * without printing the document and parsing it again (the activities read volume definitions so,
 * on every start). Throws the same TemplateRenderError.
 */
export function renderYamlData(text: string, ctx: RenderContext, path = 'template'): unknown {
  return withSubstitutedYaml(text, ctx, path, (doc) => doc.toJS());
}

/**
 * Parses `text` (or takes it parsed), renders every expression in its scalars in place and hands
 * the document to `use`; throws every problem found. The scalars get their parsed values back
 * before this returns, whatever happens: the document is shared by every rendering of the text.
 */
function withSubstitutedYaml<T>(text: string, ctx: RenderContext, path: string, use: (doc: YAML.Document.Parsed, substituted: boolean) => T): T {
  const { doc, hits, problems: parseProblems } = yamlScalarsWithExpressions(text);
  if (hits.length === 0 && parseProblems.length === 0) return use(doc, false);
  const problems = [...parseProblems];
  const parsed = hits.map((hit) => ({ node: hit.node, value: hit.node.value, type: hit.node.type }));
  try {
    for (const hit of hits) {
      problems.push(...hit.scan.problems);
      let out = '';
      let cursor = 0;
      let only: Evaluated | undefined;
      for (const expr of hit.scan.expressions) {
        out += hit.value.slice(cursor, expr.offset);
        cursor = expr.end;
        if (!expr.name) continue;
        const { result, error } = evaluate(expr, ctx);
        if (!result) {
          problems.push({ line: expr.line, column: expr.column, expression: expr.source, message: error ?? 'cannot evaluate' });
          continue;
        }
        out += plainText(result);
        if (hit.scan.expressions.length === 1 && expr.offset === 0 && expr.end === hit.value.length) only = result;
      }
      out += hit.value.slice(cursor);
      setScalar(hit.node, out, only);
    }
    if (problems.length > 0) {
      problems.sort((a, b) => a.line - b.line || a.column - b.column);
      throw renderError(path, problems);
    }
    return use(doc, true);
  } finally {
    for (const p of parsed) {
      p.node.value = p.value;
      p.node.type = p.type;
    }
  }
}

/** Stores a rendered value in a scalar without ever letting it become structure. */
function setScalar(node: YAML.Scalar, rendered: string, only: Evaluated | undefined): void {
  if (only?.kind === 'quoted') {
    node.value = only.value;
    node.type = 'QUOTE_DOUBLE';
    return;
  }
  if (only?.kind === 'json') {
    node.value = only.value;
    node.type = typeof only.value === 'string' ? 'QUOTE_DOUBLE' : 'PLAIN';
    return;
  }
  if (node.type === 'PLAIN' && BARE_TOKEN.test(rendered)) {
    // Re-type as YAML would have typed the same plain text (10 → number, true → boolean).
    const typed: unknown = YAML.parse(rendered);
    node.value = typeof typed === 'number' || typeof typed === 'boolean' || typed === null ? typed : rendered;
    return;
  }
  node.value = rendered;
  if (node.type === 'PLAIN') node.type = 'QUOTE_DOUBLE';
}
