import { skipLws } from './chars.js';

/**
 * An ordered list of `;name[=value]` parameters (RFC 3261 §7.3.1 generic-param, §19.1.1
 * uri-parameter). Names compare case-insensitively; the original spelling and order are kept so a
 * parameter list can be written back unchanged.
 */
export class Params {
  readonly names: string[] = [];
  readonly values: (string | null)[] = [];

  get size(): number {
    return this.names.length;
  }

  #index(name: string): number {
    const n = this.names;
    for (let i = 0; i < n.length; i++) {
      const x = n[i] as string;
      if (x === name || (x.length === name.length && x.toLowerCase() === name.toLowerCase())) return i;
    }
    return -1;
  }

  /** `undefined` when absent, `null` when present without a value. */
  get(name: string): string | null | undefined {
    const i = this.#index(name);
    return i < 0 ? undefined : this.values[i];
  }

  has(name: string): boolean {
    return this.#index(name) >= 0;
  }

  set(name: string, value: string | null): void {
    const i = this.#index(name);
    if (i < 0) {
      this.names.push(name);
      this.values.push(value);
    } else this.values[i] = value;
  }

  delete(name: string): boolean {
    const i = this.#index(name);
    if (i < 0) return false;
    this.names.splice(i, 1);
    this.values.splice(i, 1);
    return true;
  }

  clone(): Params {
    const p = new Params();
    p.names.push(...this.names);
    p.values.push(...this.values);
    return p;
  }

  /** `;a=b;c` */
  toString(): string {
    let out = '';
    for (let i = 0; i < this.names.length; i++) {
      const v = this.values[i];
      out += v === null || v === undefined ? `;${this.names[i]}` : `;${this.names[i]}=${v}`;
    }
    return out;
  }
}

export interface ParamsScan {
  params: Params;
  /** Index of the first character not consumed. */
  end: number;
  /** Set when a parameter was malformed (empty name, unterminated quote). */
  bad: boolean;
}

/**
 * Parses `*( SEMI param )` starting at `i` (which should point at `;` or at whitespace before it).
 * Stops at `stop` characters (e.g. `,` or `>` or `?`) or the end. LWS around `;` and `=` is allowed
 * (RFC 3261 §25.1 SEMI / EQUAL).
 */
export function parseParams(s: string, i: number, end: number, stopChars: string, allowLws = true): ParamsScan {
  const params = new Params();
  let bad = false;
  for (;;) {
    let j = allowLws ? skipLws(s, i, end) : i;
    if (j >= end || s.charCodeAt(j) !== 0x3b) {
      i = j;
      break;
    }
    j = allowLws ? skipLws(s, j + 1, end) : j + 1;
    const ns = j;
    while (j < end) {
      const c = s.charCodeAt(j);
      if (c === 0x3d || c === 0x3b || c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) break;
      if (stopChars.includes(s[j] as string)) break;
      j++;
    }
    const name = s.slice(ns, j);
    if (name.length === 0) bad = true;
    let k = allowLws ? skipLws(s, j, end) : j;
    let value: string | null = null;
    if (k < end && s.charCodeAt(k) === 0x3d) {
      k = allowLws ? skipLws(s, k + 1, end) : k + 1;
      const vs = k;
      if (k < end && s.charCodeAt(k) === 0x22) {
        k++;
        while (k < end && s.charCodeAt(k) !== 0x22) k += s.charCodeAt(k) === 0x5c ? 2 : 1;
        if (k >= end) {
          bad = true;
          k = end;
        } else k++;
      } else if (k < end && s.charCodeAt(k) === 0x5b) {
        while (k < end && s.charCodeAt(k) !== 0x5d) k++;
        if (k < end) k++;
      } else {
        while (k < end) {
          const c = s.charCodeAt(k);
          if (c === 0x3b || c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) break;
          if (stopChars.includes(s[k] as string)) break;
          k++;
        }
      }
      value = s.slice(vs, k);
      if (value.length === 0) bad = true;
      j = k;
    } else j = k;
    if (name.length > 0) {
      params.names.push(name);
      params.values.push(value);
    }
    i = j;
  }
  return { params, end: i, bad };
}
