/**
 * Request bodies arrive as raw bytes (express.raw, 1 MiB limit) and are parsed here, so a malformed
 * document can be reported with its line, column and offset: Node 20's JSON.parse message does not
 * say where the problem is.
 */
import { ErrorType, KnotError } from '../core/errors';

export const MAX_BODY_BYTES = 1024 * 1024;

/** Offset of the first character at which `text` stops being valid JSON, and what was expected. */
export function jsonErrorPosition(text: string): { offset: number; message: string } {
  let i = 0;
  const fail = (message: string): never => {
    throw { offset: i, message };
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const describe = () => (i >= text.length ? 'end of input' : `'${text[i]}'`);
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe()}`);
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length) {
      const ch = text[i] ?? '';
      if (ch === '"') {
        i++;
        return;
      }
      if (ch === '\\') {
        const next = text[i + 1] ?? '';
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 2;
            fail('invalid \\u escape in string');
          }
          i += 6;
        } else if ('"\\/bfnrt'.includes(next) && next !== '') i += 2;
        else {
          i++;
          fail('invalid escape in string');
        }
        continue;
      }
      if (ch.charCodeAt(0) < 0x20) fail('control character in string (escape it)');
      i++;
    }
    fail('unterminated string');
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '-' || m[0] === '') fail(`unexpected ${describe()}`);
    i += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nesting too deep');
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a property name in double quotes, got ${describe()}`);
        string();
        ws();
        if (text[i] !== ':') fail(`expected ':' after a property name, got ${describe()}`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected ',' or '}' in object, got ${describe()}`);
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected ',' or ']' in array, got ${describe()}`);
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    fail(`unexpected ${describe()}`);
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail(`unexpected ${describe()} after the JSON value`);
    return { offset: -1, message: '' };
  } catch (e) {
    return e as { offset: number; message: string };
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      last = k;
    }
  }
  return { line, column: offset - last };
}

/** Parses a UTF-8 JSON body; a malformed one → KnotError(validation) naming the position. */
export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new KnotError(ErrorType.Validation, 'request body is not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const { offset, message } = jsonErrorPosition(text);
    const at = offset < 0 ? 0 : offset;
    const { line, column } = lineColumn(text, at);
    throw new KnotError(ErrorType.Validation, `malformed JSON at line ${line} column ${column} (offset ${at}): ${message || 'invalid JSON'}`, {
      errors: [{ path: '(body)', message: `malformed JSON at line ${line} column ${column}: ${message || 'invalid JSON'}` }],
      details: { position: { offset: at, line, column } },
    });
  }
}
