import type { Expr, PvRef } from './ast.js';
import type { RouteKind } from './registry.js';

// The code model of the `.cfg` compiler: compiled expressions with their type and JavaScript
// precedence, string literals, and small helpers on the syntax tree.

/** The type of a compiled expression's value. */
export type Ty = 'bool' | 'int' | 'str' | 'any';

/** A compiled expression: code, its type, whether it may be undefined, whether it needs parentheses. */
export interface Code {
  readonly c: string;
  readonly t: Ty;
  readonly nullable: boolean;
  /** JavaScript precedence of the code's outermost operator ({@link P}; a call or name: P.atom). */
  readonly p: number;
}

/** JavaScript operator precedence, loosest first. */
export const P = {
  or: 4,
  and: 5,
  bor: 6,
  bxor: 7,
  band: 8,
  eq: 9,
  rel: 10,
  shift: 11,
  add: 12,
  mul: 13,
  unary: 15,
  atom: 20,
} as const;

export const OP_PREC: Readonly<Record<string, number>> = {
  '|': P.bor,
  '^': P.bxor,
  '&': P.band,
  '<<': P.shift,
  '>>': P.shift,
  '-': P.add,
  '*': P.mul,
};

/** A compiled expression. */
export function code(c: string, t: Ty, p: number = P.atom, nullable = false): Code {
  return { c, t, nullable, p };
}

/** `$null`. */
export const UNDEF: Code = { c: 'undefined', t: 'any', nullable: true, p: P.atom };

/** A JavaScript single-quoted string literal. */
export function jsString(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === "'") out += "\\'";
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029)
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

/** Every route kind (a function without `routes` may be used in all but xhttp ones). */
export const ALL_KINDS: readonly RouteKind[] = [
  'request',
  'failure',
  'branch-failure',
  'reply',
  'xhttp',
  'event',
];

/** The `myself` keyword. */
export function isMyself(e: Expr): boolean {
  return e.k === 'id' && e.name === 'myself';
}

/** A pseudo-variable reference written as text (`$ru`, `$(hdr(X)[0])`), or undefined. */
export function parsePvText(text: string): PvRef | undefined {
  if (text === '$?')
    return { name: '?', arg: undefined, index: undefined, transforms: undefined, text };
  let inner = text.slice(1);
  const wrapped = inner.startsWith('(') && inner.endsWith(')');
  if (wrapped) inner = inner.slice(1, -1);
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)(?:\((.*?)\))?(?:\[(\*|-?\d+)\])?(\{.*\})?$/s.exec(inner);
  if (m === null) return undefined;
  return {
    name: m[1] as string,
    arg: m[2],
    index: m[3] === undefined ? undefined : m[3] === '*' ? '*' : Number(m[3]),
    transforms: m[4],
    text,
  };
}
