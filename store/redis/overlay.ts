/**
 * The writes a transaction has buffered, as its own later reads must see them: Redis applies
 * nothing before EXEC, so without this a transaction that inserts a space and then records the
 * event announcing it would read the space as missing.
 */

/** What the transaction did to one key. */
interface KeyChange {
  /** deleted (or overwritten by SET) before the changes below: the stored value no longer counts */
  cleared: boolean;
  /** string value; null = deleted; undefined = untouched */
  value?: string | null;
  /** hash fields set (string) or deleted (null) */
  fields: Map<string, string | null>;
  /** set / sorted-set members added (true) or removed (false) */
  members: Map<string, boolean>;
}

export class Overlay {
  private readonly changes = new Map<string, KeyChange>();

  private change(key: string): KeyChange {
    let c = this.changes.get(key);
    if (!c) {
      c = { cleared: false, fields: new Map(), members: new Map() };
      this.changes.set(key, c);
    }
    return c;
  }

  /** whether the transaction wrote this key at all */
  touched(key: string): boolean {
    return this.changes.has(key);
  }

  // ---- writes ----

  set(key: string, value: string): void {
    this.changes.set(key, { cleared: true, value, fields: new Map(), members: new Map() });
  }

  del(key: string): void {
    this.changes.set(key, { cleared: true, value: null, fields: new Map(), members: new Map() });
  }

  hset(key: string, field: string, value: string | null): void {
    this.change(key).fields.set(field, value);
  }

  member(key: string, member: string, present: boolean): void {
    this.change(key).members.set(member, present);
  }

  // ---- reads: undefined = the overlay does not know, read Redis ----

  string(key: string): string | null | undefined {
    const c = this.changes.get(key);
    if (!c) return undefined;
    if (c.value !== undefined) return c.value;
    return c.cleared ? null : undefined;
  }

  field(key: string, field: string): string | null | undefined {
    const c = this.changes.get(key);
    if (!c) return undefined;
    if (c.fields.has(field)) return c.fields.get(field) ?? null;
    return c.cleared ? null : undefined;
  }

  /** whether the stored value must be read at all to answer a whole-key read */
  needsStored(key: string): boolean {
    return !this.changes.get(key)?.cleared;
  }

  hash(key: string, stored: Map<string, string>): Map<string, string> {
    const c = this.changes.get(key);
    if (!c) return stored;
    const out = c.cleared ? new Map<string, string>() : new Map(stored);
    for (const [f, v] of c.fields) {
      if (v === null) out.delete(f);
      else out.set(f, v);
    }
    return out;
  }

  members(key: string, stored: readonly string[]): string[] {
    const c = this.changes.get(key);
    if (!c) return [...stored];
    const out = new Set(c.cleared ? [] : stored);
    for (const [m, present] of c.members) {
      if (present) out.add(m);
      else out.delete(m);
    }
    return [...out];
  }
}

/** Redis compares sorted-set members (and lex bounds) byte by byte. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Whether `member` lies within a ZRANGEBYLEX bound pair (`-`, `+`, `[x`, `(x`). */
export function inLexRange(member: string, min: string, max: string): boolean {
  const above = (bound: string): boolean => {
    if (bound === '-') return true;
    if (bound === '+') return false;
    const c = compareBytes(member, bound.slice(1));
    return bound.startsWith('(') ? c > 0 : c >= 0;
  };
  const below = (bound: string): boolean => {
    if (bound === '+') return true;
    if (bound === '-') return false;
    const c = compareBytes(member, bound.slice(1));
    return bound.startsWith('(') ? c < 0 : c <= 0;
  };
  return above(min) && below(max);
}
