import { InvalidArgumentError } from '../../errors/index.js';
import type { Binding } from './binding.js';

/**
 * Compares two strings by Unicode code point, which is also the byte order of their UTF-8 forms:
 * the order SQLite's BINARY collation and Redis's lexicographic ranges use. (JS `<` compares UTF-16
 * code units, which differs for characters above U+FFFF against U+E000..U+FFFF.)
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF: move them above U+E000..U+FFFF.
    if (x >= 0xd800) x += x < 0xe000 ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y < 0xe000 ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The order of an AoR's bindings (Kamailio usrloc `mem_insert_ucontact`): q descending, a binding
 * without q below every q (even 0), then `seq` ascending (older first); ruid breaks remaining ties
 * so every backend returns the same order.
 */
export function compareBindings(a: Binding, b: Binding): number {
  const qa = a.q ?? -1;
  const qb = b.q ?? -1;
  if (qa !== qb) return qb - qa;
  if (a.seq !== b.seq) return a.seq - b.seq;
  return compareCodePoints(a.ruid, b.ruid);
}

/** A position in the listing order: after this binding. */
export interface ListPosition {
  readonly aor: string;
  readonly seq: number;
  readonly ruid: string;
}

/** The listing order of {@link LocationStore.list}: AoR, then `seq`, then ruid. */
export function compareListOrder(a: ListPosition, b: ListPosition): number {
  return compareCodePoints(a.aor, b.aor) || a.seq - b.seq || compareCodePoints(a.ruid, b.ruid);
}

/** Encodes the position after `b` as an opaque cursor string (base64url JSON). */
export function encodeCursor(b: ListPosition): string {
  return Buffer.from(JSON.stringify([b.aor, b.seq, b.ruid]), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor from {@link encodeCursor}; undefined stays undefined (first page).
 * @throws InvalidArgumentError if the cursor is not one this module produced.
 */
export function decodeCursor(cursor: string | undefined): ListPosition | undefined {
  if (cursor === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError('location: malformed list cursor', { cause: err });
  }
  if (Array.isArray(v) && v.length === 3) {
    const [aor, seq, ruid] = v as unknown[];
    if (
      typeof aor === 'string' &&
      typeof seq === 'number' &&
      Number.isSafeInteger(seq) &&
      typeof ruid === 'string'
    ) {
      return { aor, seq, ruid };
    }
  }
  throw new InvalidArgumentError('location: malformed list cursor');
}

/** @throws InvalidArgumentError unless `limit` is an integer >= 1. */
export function assertListLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidArgumentError(`location: list limit must be a positive integer, got ${limit}`);
  }
}

/**
 * Builds a page from up to `limit + 1` bindings in listing order: the extra one only says that
 * another page follows.
 */
export function toPage(
  rows: Binding[],
  limit: number,
): { bindings: Binding[]; next: string | undefined } {
  if (rows.length <= limit) return { bindings: rows, next: undefined };
  const bindings = rows.slice(0, limit);
  const last = bindings[bindings.length - 1];
  return { bindings, next: last === undefined ? undefined : encodeCursor(last) };
}
