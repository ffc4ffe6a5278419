/**
 * Run-time helpers the generated routes use (Kamailio's value semantics), as TypeScript (`cfg
 * translate`) and as JavaScript (the compiled routes); only the ones a configuration uses are emitted.
 */
export const HELPERS: Readonly<Record<string, { ts: string; js: string }>> = {
  int: {
    ts: `/** Kamailio's integer value of a script value (a string's leading number, else 0). */
function int(v: unknown): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return 0;
  const m = /^\\s*([-+]?\\d+)/.exec(v);
  return m === null ? 0 : Number(m[1]);
}`,
    js: `function int(v) {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return 0;
  const m = /^\\s*([-+]?\\d+)/.exec(v);
  return m === null ? 0 : Number(m[1]);
}`,
  },
  eq: {
    ts: `/** Kamailio ==: by the left value's type; an undefined value takes the other side's type. */
function eq(a: unknown, b: unknown): boolean {
  if (a === undefined && b === undefined) return true;
  if (typeof a === 'number' || (a === undefined && typeof b === 'number')) return int(a) === int(b);
  return String(a ?? '') === String(b ?? '');
}`,
    js: `function eq(a, b) {
  if (a === undefined && b === undefined) return true;
  if (typeof a === 'number' || (a === undefined && typeof b === 'number')) return int(a) === int(b);
  return String(a ?? '') === String(b ?? '');
}`,
  },
  cmp: {
    ts: `/** Kamailio < > <= >=: integers when the left value is one, else strings. */
function cmp(a: unknown, b: unknown): number {
  if (typeof a === 'number' || typeof b === 'number') return int(a) - int(b);
  const x = String(a ?? '');
  const y = String(b ?? '');
  return x < y ? -1 : x > y ? 1 : 0;
}`,
    js: `function cmp(a, b) {
  if (typeof a === 'number' || typeof b === 'number') return int(a) - int(b);
  const x = String(a ?? '');
  const y = String(b ?? '');
  return x < y ? -1 : x > y ? 1 : 0;
}`,
  },
  add: {
    ts: `/** Kamailio +: addition when the left value is an integer, else concatenation. */
function add(a: unknown, b: unknown): string | number {
  if (typeof a === 'number' || (a === undefined && typeof b === 'number')) return int(a) + int(b);
  return String(a ?? '') + String(b ?? '');
}`,
    js: `function add(a, b) {
  if (typeof a === 'number' || (a === undefined && typeof b === 'number')) return int(a) + int(b);
  return String(a ?? '') + String(b ?? '');
}`,
  },
  cond: {
    ts: `/** An if / while condition: true when the value is a positive integer. */
function cond(v: unknown): boolean {
  return typeof v === 'boolean' ? v : int(v) > 0;
}`,
    js: `function cond(v) {
  return typeof v === 'boolean' ? v : int(v) > 0;
}`,
  },
  truth: {
    ts: `/** An operand of && || !: true when the value is not 0. */
function truth(v: unknown): boolean {
  return typeof v === 'boolean' ? v : int(v) !== 0;
}`,
    js: `function truth(v) {
  return typeof v === 'boolean' ? v : int(v) !== 0;
}`,
  },
  idiv: {
    ts: `/** Integer division and remainder (0 when dividing by 0). */
function idiv(a: number, b: number, rem: boolean): number {
  if (b === 0) return 0;
  return rem ? a % b : Math.trunc(a / b);
}`,
    js: `function idiv(a, b, rem) {
  if (b === 0) return 0;
  return rem ? a % b : Math.trunc(a / b);
}`,
  },
  fmt: {
    ts: `/** A value in a format string: undefined prints as <null> (Kamailio). */
function fmt(v: unknown): string {
  return v === undefined ? '<null>' : String(v);
}`,
    js: `function fmt(v) {
  return v === undefined ? '<null>' : String(v);
}`,
  },
  ret: {
    ts: `/** \`return N\` from a route: 0 ends the script (as exit), otherwise $rc = N. */
function ret(ctx: ScriptContext, code: number): void {
  if (code === 0) ctx.exit();
  ctx.$rc = code;
}`,
    js: `function ret(ctx, code) {
  if (code === 0) ctx.exit();
  ctx.$rc = code;
}`,
  },
  avps: {
    ts: `const AVPS = new WeakMap<object, Record<string, string | number | undefined>>();
/** $avp(name): values that follow the request (its failure and branch-failure routes see them). */
function avps(ctx: ScriptContext): Record<string, string | number | undefined> {
  let k: object;
  try {
    k = ctx.request.req;
  } catch {
    k = ctx.msg;
  }
  let a = AVPS.get(k);
  if (a === undefined) {
    a = {};
    AVPS.set(k, a);
  }
  return a;
}`,
    js: `const AVPS = new WeakMap();
function avps(ctx) {
  let k;
  try {
    k = ctx.request.req;
  } catch {
    k = ctx.msg;
  }
  let a = AVPS.get(k);
  if (a === undefined) {
    a = {};
    AVPS.set(k, a);
  }
  return a;
}`,
  },
};

/** POSIX character classes → JavaScript. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\r\\n\\v\\f',
  blank: ' \\t',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
};

/** A POSIX extended regular expression as JavaScript source, or the reason it cannot be one. */
export function posixRegex(
  re: string,
): { ok: true; source: string } | { ok: false; message: string } {
  const source = re.replace(/\[:([a-z]+):\]/g, (m, n: string) => POSIX_CLASSES[n] ?? m);
  try {
    new RegExp(source, 'i');
    return { ok: true, source };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}
