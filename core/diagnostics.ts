/**
 * Where a template problem sits in the text the admin wrote, so an editor can mark it there.
 *
 * Problems arrive in three shapes: the renderer's `3:5: message in ${{ … }}` (already in template
 * coordinates), HCL diagnostics from Nomad or hcl2json (`input.hcl:12,7-9: Summary; Detail`, in
 * the coordinates of the *rendered* job, which the expression spans map back), and volume errors
 * naming a YAML path (`volumes[0](id).plugin_id`, found in the template's YAML by structure:
 * rendering changes values, never the shape). Nothing here throws: a problem whose place cannot be
 * found simply has none.
 */
import YAML from 'yaml';
import type { FieldError } from './errors';
import type { RenderedSpan } from './render';

export interface TextPosition {
  line: number;
  column: number;
}

export interface HclDiagnostic extends TextPosition {
  /** `Summary; Detail` as the parser wrote it, without the file and range */
  message: string;
}

/** 1-based line and column of an offset in `text`. */
export function positionAt(text: string, offset: number): TextPosition {
  const at = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: at - lineStart + 1 };
}

/** The offset of a 1-based line and column in `text` (clamped to the line and the text). */
export function offsetAt(text: string, pos: TextPosition): number {
  let start = 0;
  for (let l = 1; l < pos.line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return text.length;
    start = nl + 1;
  }
  const end = text.indexOf('\n', start);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(start + Math.max(0, pos.column - 1), lineEnd);
}

/** `3:5: …` (the renderer's problems) or `YAML does not parse at 3:5: …` → the position. */
export function messagePosition(message: string): TextPosition | null {
  const m = /^(\d+):(\d+): /.exec(message) ?? /\bparse at (\d+):(\d+)\b/.exec(message);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

// `input.hcl:12,7-9: ` or `job.hcl:3,28-4,1: ` — file, start line,column, then the range's end
const HCL_DIAGNOSTIC = /(?:^|[\s[(])[\w./-]*\.hcl:(\d+),(\d+)(?:-(?:\d+,)?\d+)?: /g;

/**
 * Every positioned diagnostic in an HCL parser's message (hcl2json and Nomad join several with
 * spaces), each with the text up to the next one. Empty when the message names no position.
 */
export function hclDiagnostics(message: string): HclDiagnostic[] {
  const marks = [...message.matchAll(HCL_DIAGNOSTIC)];
  return marks.map((m, i) => {
    const textStart = (m.index ?? 0) + m[0].length;
    const textEnd = marks[i + 1]?.index ?? message.length;
    return { line: Number(m[1]), column: Number(m[2]), message: message.slice(textStart, textEnd).trim().replace(/[\]\s]+$/, '') };
  });
}

/**
 * A position in the rendered text → the same place in the template: after an expression the
 * offsets shift by how much longer its value is than `${{ … }}`; inside a value, the expression
 * that produced it.
 */
export function templatePosition(template: string, rendered: string, spans: readonly RenderedSpan[], pos: TextPosition): TextPosition {
  const out = offsetAt(rendered, pos);
  let source = out;
  for (const s of spans) {
    if (s.outFrom > out) break;
    source = out < s.outTo ? s.from : s.to + (out - s.outTo);
  }
  return positionAt(template, source);
}

/** `volumes[0](debian_x_home).plugin_id` → `['volumes', 0, 'plugin_id']` (the `(id)` label is for people). */
export function yamlPathOf(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.replace(/\([^)]*\)/g, '').matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : (m[1] ?? ''));
  return out;
}

/** Where the node at `path` (or its nearest existing parent) starts in the YAML text, or null. */
export function yamlPathPosition(yaml: string, path: string): TextPosition | null {
  const doc = YAML.parseDocument(yaml);
  if (doc.errors.length > 0) return null;
  const keys = yamlPathOf(path);
  for (let n = keys.length; n > 0; n--) {
    const prefix = keys.slice(0, n);
    const parent = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : doc.contents;
    // a map entry is marked at its key (that is where `unknown key` problems are), an item at itself
    const last = prefix[prefix.length - 1];
    let range: [number, number, number] | null | undefined;
    if (YAML.isMap(parent)) {
      const pair = parent.items.find((p) => YAML.isScalar(p.key) && p.key.value === last);
      range = pair && YAML.isScalar(pair.key) ? pair.key.range : undefined;
    } else if (YAML.isSeq(parent) && typeof last === 'number') {
      const item = parent.items[last];
      range = YAML.isNode(item) ? item.range : undefined;
    }
    if (range) return positionAt(yaml, range[0]);
  }
  return null;
}

/**
 * The same errors with `line`/`column` wherever their place in the job or volumes text can be
 * found (errors already placed are kept as they are).
 */
export function placeTemplateErrors(errors: readonly FieldError[], texts: { job?: string | undefined; volumes?: string | undefined }): FieldError[] {
  return errors.map((e) => {
    if (e.line !== undefined) return e;
    const field = e.path.startsWith('job') ? 'job' : e.path.startsWith('volumes') ? 'volumes' : null;
    if (!field) return e;
    const pos = messagePosition(e.message) ?? (field === 'volumes' && texts.volumes !== undefined && e.path !== 'volumes' ? yamlPathPosition(texts.volumes, e.path) : null);
    return pos ? { ...e, line: pos.line, column: pos.column } : e;
  });
}
