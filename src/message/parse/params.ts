import {
  bytesOf,
  equalsIgnoreCase,
  isToken,
  isValueEnd,
  matchLower,
  scanQuoted,
  skipLws,
} from './chars.js';

/**
 * An ordered list of `;name[=value]` parameters (RFC 3261 §7.3.1 generic-param, §19.1.1
 * uri-parameter). Names compare case-insensitively; the original spelling and order are kept so a
 * parameter list can be written back unchanged. Values are wire text as written (quoted values
 * keep their quotes).
 */
export class Params {
  readonly names: string[];
  readonly values: (string | null)[];

  /** Empty, or over the given lists (same length; the Params owns them from then on). */
  constructor(names: string[] = [], values: (string | null)[] = []) {
    this.names = names;
    this.values = values;
  }

  /** Number of parameters. */
  get size(): number {
    return this.names.length;
  }

  #index(name: string): number {
    const n = this.names;
    for (let i = 0; i < n.length; i++) if (equalsIgnoreCase(n[i] ?? '', name)) return i;
    return -1;
  }

  /** `undefined` when absent, `null` when present without a value. */
  get(name: string): string | null | undefined {
    const i = this.#index(name);
    return i < 0 ? undefined : this.values[i];
  }

  /** True when a parameter of that name (any case) is present. */
  has(name: string): boolean {
    return this.#index(name) >= 0;
  }

  /** Sets a value (null: no value), keeping the position of an existing parameter. */
  set(name: string, value: string | null): void {
    const i = this.#index(name);
    if (i < 0) {
      this.names.push(name);
      this.values.push(value);
    } else this.values[i] = value;
  }

  /** Removes a parameter; returns whether it was present. */
  delete(name: string): boolean {
    const i = this.#index(name);
    if (i < 0) return false;
    this.names.splice(i, 1);
    this.values.splice(i, 1);
    return true;
  }

  /** An independent copy. */
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

/** Result of {@link parseParams}. */
export interface ParamsScan {
  params: Params;
  /** Index of the first character not consumed. */
  end: number;
  /** Set when a parameter was malformed (empty or non-token name, unterminated quote). */
  bad: boolean;
}

/**
 * Offsets of the last parameter read by {@link nextParam}: name start, name end, value start
 * (-1 when there is no value), value end; then 1 when the value is an unquoted token (else 0).
 * Shared scratch space: read it right after the call. (A plain array of small integers: its
 * reads and writes are cheaper than a typed array's.)
 */
export const PARAM: number[] = [0, 0, 0, 0, 0];

/** Return value of {@link nextParam}: there is no `;` at the position. */
export const NO_PARAM = -1;
/** Return value of {@link nextParam}: the parameter is malformed. */
export const BAD_PARAM = -2;

/**
 * Reads one header parameter `SEMI token [ EQUAL gen-value ]` at `i` (LWS allowed around `;` and
 * `=`, RFC 3261 §25.1 SEMI / EQUAL). Returns the index after it with offsets in {@link PARAM};
 * {@link NO_PARAM} when the next non-LWS byte is not `;` (PARAM[0] is then its index); or
 * {@link BAD_PARAM}. An empty value (`;reg-id=`) is tolerated and reads as ''. Allocation-free:
 * this is the core of every header-parameter lookup.
 */
export function nextParam(b: Uint8Array, i: number, end: number): number {
  let j = skipLws(b, i, end);
  if (j >= end || b[j] !== 0x3b) {
    PARAM[0] = j;
    return NO_PARAM;
  }
  j = skipLws(b, j + 1, end);
  const ns = j;
  while (j < end && isToken(b[j] ?? 0)) j++;
  if (j === ns) return BAD_PARAM;
  const ne = j;
  let k = skipLws(b, j, end);
  PARAM[0] = ns;
  PARAM[1] = ne;
  if (k >= end || b[k] !== 0x3d) {
    PARAM[2] = -1;
    PARAM[3] = -1;
    PARAM[4] = 0;
    return ne;
  }
  k = skipLws(b, k + 1, end);
  const vs = k;
  let other = 2;
  if (k < end && b[k] === 0x22) {
    k = scanQuoted(b, k, end);
    if (k < 0) return BAD_PARAM;
  } else {
    other = 0;
    while (k < end) {
      const c = b[k] ?? 0;
      if (isValueEnd(c)) break;
      if (!isToken(c)) other = 2;
      k++;
    }
  }
  PARAM[2] = vs;
  PARAM[3] = k;
  PARAM[4] = other === 0 && k > vs ? 1 : 0;
  return k;
}

/** Parses `*( SEMI generic-param )` from `i` (at `;` or LWS before it) in b/s up to `end`. */
export function parseParamsAt(b: Uint8Array, s: string, i: number, end: number): ParamsScan {
  // offsets first, then lists of the exact size (pushing grows a list's storage to 16 slots)
  let n = 0;
  let stop: number;
  let bad = false;
  for (;;) {
    const r = nextParam(b, i, end);
    if (r === NO_PARAM) {
      stop = PARAM[0] ?? end;
      break;
    }
    if (r === BAD_PARAM) {
      stop = i;
      bad = true;
      break;
    }
    OFFSETS[n++] = PARAM[0] ?? 0;
    OFFSETS[n++] = PARAM[1] ?? 0;
    OFFSETS[n++] = PARAM[2] ?? -1;
    OFFSETS[n++] = PARAM[3] ?? -1;
    i = r;
  }
  return { params: paramsOf(s, OFFSETS, n / 4), end: stop, bad };
}

/** Scratch offsets of {@link parseParamsAt} (name start, name end, value start or -1, value end). */
const OFFSETS: number[] = [];

/**
 * The Params of `count` parameters whose offsets in `s` are in `o` (name start, name end, value
 * start or -1 for none, value end), in lists of exactly that size.
 */
export function paramsOf(s: string, o: readonly number[], count: number): Params {
  if (count === 0) return new Params();
  const names = new Array<string>(count);
  const values = new Array<string | null>(count);
  for (let k = 0, j = 0; k < count; k++, j += 4) {
    names[k] = s.slice(o[j], o[j + 1]);
    const vs = o[j + 2] ?? -1;
    values[k] = vs < 0 ? null : s.slice(vs, o[j + 3]);
  }
  return new Params(names, values);
}

/**
 * Parses `*( SEMI generic-param )` starting at `i` of the wire text `s`. Stops at the first
 * character that does not start a parameter (`,` `>` and LWS end an unquoted value).
 */
export function parseParams(s: string, i = 0, end = s.length): ParamsScan {
  return parseParamsAt(bytesOf(s), s, i, end);
}

/**
 * Checks `*( SEMI generic-param )` from `i` without building anything; returns the index of the
 * first non-LWS byte after the parameters (`end`, a `,`, or garbage), or -1 when one is malformed.
 */
export function paramsEnd(b: Uint8Array, i: number, end: number): number {
  for (;;) {
    const r = nextParam(b, i, end);
    if (r === NO_PARAM) return PARAM[0] ?? end;
    if (r === BAD_PARAM) return -1;
    i = r;
  }
}

/**
 * Looks up one header parameter in b/s[i, end) by `name` (any case) without building a
 * {@link Params}: undefined when absent (or the list is malformed before it), null when present
 * without a value, else the value as written.
 */
export function findParam(
  b: Uint8Array,
  s: string,
  i: number,
  end: number,
  name: string,
): string | null | undefined {
  for (;;) {
    const r = nextParam(b, i, end);
    if (r < 0) return undefined;
    if (matchLower(b, PARAM[0] ?? 0, PARAM[1] ?? 0, name)) {
      const vs = PARAM[2] ?? -1;
      return vs < 0 ? null : s.slice(vs, PARAM[3]);
    }
    i = r;
  }
}
