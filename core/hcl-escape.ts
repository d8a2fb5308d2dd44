/**
 * How a rendered `${{ }}` value is inserted into a template (core/render.ts): the HCL escaping that
 * follows the lexical context around each expression (quoted string, heredoc, code, comment), and
 * the plain-text form used for mode `none` and inside YAML scalars. Split from render.ts by job:
 * that file parses and evaluates expressions, this one makes sure a value can never change the
 * structure of the document it lands in.
 */

export type RenderValue = string | number | boolean;

/** A rendered value: either still raw (to be escaped for its context) or a finished literal. */
export type Evaluated =
  | { kind: 'value'; value: RenderValue }
  | { kind: 'quoted'; value: string }
  | { kind: 'json'; value: RenderValue };

/** Content of an HCL quoted string holding exactly `s` (template sequences at the edges handled by the caller). */
export function escapeHclString(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return neutraliseHclTemplates(out);
}

function neutraliseHclTemplates(s: string): string {
  // Function replacements: in a replacement string `$$` would mean a single `$`.
  return s.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/** A complete HCL string literal (with quotes) holding exactly `s`. */
export function quoteHcl(s: string): string {
  return `"${escapeHclString(s)}"`;
}

export const BARE_TOKEN = /^[A-Za-z0-9_.+-]+$/;

type HclContext = { kind: 'code' } | { kind: 'string' } | { kind: 'heredoc'; delimiter: string } | { kind: 'comment'; block: boolean };

type HclFrame =
  | { kind: 'code'; interp: boolean; braces: number }
  | { kind: 'string' }
  | { kind: 'heredoc'; delimiter: string; lineStart: number }
  | { kind: 'lineComment' }
  | { kind: 'blockComment' };

/**
 * Follows HCL's lexical state over the literal parts of a template (strings, heredocs, comments,
 * `${ }` interpolations nested inside strings), so each expression can be escaped for where it sits.
 */
export class HclTracker {
  private readonly stack: HclFrame[] = [{ kind: 'code', interp: false, braces: 0 }];
  /** The output so far (literal text and inserted values), for heredoc line and edge checks. */
  private out = '';
  /** A backslash at the end of literal text inside a string would escape the inserted value. */
  private danglingEscape = false;

  private top(): HclFrame {
    return this.stack[this.stack.length - 1] ?? { kind: 'code', interp: false, braces: 0 };
  }

  context(): HclContext {
    const f = this.top();
    if (f.kind === 'string') return { kind: 'string' };
    if (f.kind === 'heredoc') return { kind: 'heredoc', delimiter: f.delimiter };
    if (f.kind === 'lineComment') return { kind: 'comment', block: false };
    if (f.kind === 'blockComment') return { kind: 'comment', block: true };
    return { kind: 'code' };
  }

  get output(): string {
    return this.out;
  }

  get endsWithEscape(): boolean {
    return this.danglingEscape;
  }

  /** Appends an already-escaped value; it never changes the lexical state. */
  appendValue(text: string): void {
    this.out += text;
    this.danglingEscape = false;
  }

  appendLiteral(text: string): void {
    const base = this.out.length;
    this.out += text;
    let i = base;
    const s = this.out;
    this.danglingEscape = false;
    while (i < s.length) {
      const f = this.top();
      const ch = s[i];
      switch (f.kind) {
        case 'code':
          if (ch === '"') this.stack.push({ kind: 'string' });
          else if (ch === '#' || (ch === '/' && s[i + 1] === '/')) this.stack.push({ kind: 'lineComment' });
          else if (ch === '/' && s[i + 1] === '*') {
            this.stack.push({ kind: 'blockComment' });
            i++;
          } else if (ch === '<' && s[i + 1] === '<') {
            const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)\r?\n/.exec(s.slice(i));
            if (m?.[1]) {
              i += m[0].length;
              this.stack.push({ kind: 'heredoc', delimiter: m[1], lineStart: i });
              continue;
            }
          } else if (f.interp && ch === '{') f.braces++;
          else if (f.interp && ch === '}') {
            if (f.braces === 0) this.stack.pop();
            else f.braces--;
          }
          i++;
          break;
        case 'string':
          if (ch === '\\') {
            if (i + 1 >= s.length) this.danglingEscape = true;
            i += 2;
            continue;
          }
          if (ch === '"' || ch === '\n') this.stack.pop();
          else {
            const skip = this.templateStart(s, i);
            if (skip > 0) {
              i += skip;
              continue;
            }
          }
          i++;
          break;
        case 'heredoc':
          if (ch === '\n') {
            const line = s.slice(f.lineStart, i).trim();
            if (line === f.delimiter) {
              this.stack.pop();
              i++;
              continue;
            }
            f.lineStart = i + 1;
          } else {
            const skip = this.templateStart(s, i);
            if (skip > 0) {
              i += skip;
              continue;
            }
          }
          i++;
          break;
        case 'lineComment':
          if (ch === '\n') this.stack.pop();
          i++;
          break;
        case 'blockComment':
          if (ch === '*' && s[i + 1] === '/') {
            this.stack.pop();
            i += 2;
            continue;
          }
          i++;
          break;
      }
    }
  }

  /**
   * Inside a string or heredoc: an interpolation or directive opening (`${`, `%{`) enters code and
   * is 2 characters long; an escaped one (`$${`, `%%{`) is 3 characters of text; anything else 0.
   */
  private templateStart(s: string, i: number): number {
    if (s[i] !== '$' && s[i] !== '%') return 0;
    if (s[i + 1] === '{') {
      this.stack.push({ kind: 'code', interp: true, braces: 0 });
      return 2;
    }
    return s[i + 1] === s[i] && s[i + 2] === '{' ? 3 : 0;
  }

  /** For a heredoc, the text of the current (unfinished) line. */
  heredocLineSoFar(): string {
    const f = this.top();
    return f.kind === 'heredoc' ? this.out.slice(f.lineStart) : '';
  }
}

/** Escapes one evaluated value for where it sits in the HCL; `next` is the literal text right after. */
export function escapeForHcl(ev: Evaluated, ctx: HclContext, tracker: HclTracker, next: string): { text?: string; error?: string } {
  if (ctx.kind === 'code') {
    if (ev.kind === 'quoted') return { text: quoteHcl(ev.value) };
    if (ev.kind === 'json') return { text: typeof ev.value === 'string' ? quoteHcl(ev.value) : String(ev.value) };
    if (typeof ev.value !== 'string') return { text: String(ev.value) };
    if (BARE_TOKEN.test(ev.value)) return { text: ev.value };
    return { error: `value ${JSON.stringify(ev.value)} can't be placed outside an HCL string safely: put the expression inside quotes or add \`| quote\`` };
  }
  if (ev.kind !== 'value') {
    const pipe = ev.kind === 'quoted' ? 'quote' : 'json';
    return { error: `\`| ${pipe}\` emits a complete HCL literal, so it can't be used inside a ${ctx.kind === 'comment' ? 'comment' : 'quoted string'}` };
  }
  const raw = String(ev.value);
  if (ctx.kind === 'comment') {
    const flat = raw.replace(/\r\n|\r|\n/g, ' ');
    return { text: ctx.block ? flat.replace(/\*\//g, '* /') : flat };
  }
  if (tracker.endsWithEscape) return { error: 'expression follows a backslash, which would escape the first character of the value' };

  let text: string;
  if (ctx.kind === 'string') {
    text = escapeHclString(raw);
  } else {
    text = neutraliseHclTemplates(raw);
    // The whole line(s) the value ends up on, including the literal text around it.
    const lines = (tracker.heredocLineSoFar() + text + (next.split(/\r?\n/)[0] ?? '')).split(/\r?\n/);
    if (lines.some((l) => l.trim() === ctx.delimiter)) {
      return { error: `value contains a line '${ctx.delimiter}' that would end the heredoc` };
    }
  }
  // `$` / `%` meeting `{` across the boundary between literal text and value would open an HCL
  // template; doubling the sign turns it into HCL's escape for a literal `${` / `%{`.
  const before = tracker.output.slice(-1);
  if ((before === '$' || before === '%') && text.startsWith('{')) text = before + text;
  const last = text.slice(-1);
  if ((last === '$' || last === '%') && next.startsWith('{')) text += last;
  return { text };
}

/** The value as plain text (mode `none`, and inside YAML scalars). */
export function plainText(ev: Evaluated): string {
  if (ev.kind === 'quoted') return JSON.stringify(ev.value);
  if (ev.kind === 'json') return JSON.stringify(ev.value);
  return String(ev.value);
}
