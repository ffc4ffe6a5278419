import { InvalidArgumentError } from '../../errors/index.js';
import { detach } from '../../util/detach.js';
import type { AorChanges, Binding } from './binding.js';

/** Longest accepted ruid. Kamailio's `uloc-<hex>-<hex>-<hex>` ruids are about 25 characters. */
export const MAX_RUID_LENGTH = 255;

// A ruid is a token: visible characters only (no whitespace, no control characters), so every
// backend can use it inside a key or a composite index member.
const RUID_RE = /^[^\s\p{Cc}]+$/u;

const EMPTY: readonly string[] = Object.freeze([]);

function isSafeUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isOptString(v: unknown): v is string | undefined {
  return v === undefined || typeof v === 'string';
}

function isStringArray(v: unknown): v is readonly string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/**
 * Checks one binding of an `apply()` for `aor`. Returns what is wrong, or undefined when the
 * binding is valid. The rules every store enforces:
 * - `ruid`: 1..255 visible characters (no whitespace or control characters);
 * - `aor` equal to the AoR being changed; `contact` and `callId` non-empty strings;
 * - `expires`, `cseq`, `regId`, `flags`, `lastModified`, `seq`: safe integers >= 0
 *   (`expires` > 0: flowgate has no permanent bindings);
 * - `q`: undefined or an integer 0..1000;
 * - `path`, `tempGruus`: arrays of strings; `methods`: undefined or an array of strings;
 * - `received`, `userAgent`, `instance`, `flowId`, `socket`: undefined or strings.
 */
export function checkBinding(b: unknown, aor: string): string | undefined {
  if (typeof b !== 'object' || b === null) return 'not an object';
  const r = b as { readonly [K in keyof Binding]?: unknown };
  const ruid = r.ruid;
  if (
    typeof ruid !== 'string' ||
    ruid.length === 0 ||
    ruid.length > MAX_RUID_LENGTH ||
    !RUID_RE.test(ruid)
  ) {
    return 'ruid must be 1..255 visible characters';
  }
  // the message is built only for an invalid binding (every stored binding is checked on read)
  const where = (what: string): string => `binding ${ruid}: ${what}`;
  if (r.aor !== aor) return where(`aor ${JSON.stringify(r.aor)} is not ${JSON.stringify(aor)}`);
  if (typeof r.contact !== 'string' || r.contact === '')
    return where('contact must be a non-empty string');
  if (typeof r.callId !== 'string' || r.callId === '')
    return where('callId must be a non-empty string');
  if (!isSafeUint(r.expires) || r.expires === 0)
    return where('expires must be a positive integer (epoch ms)');
  for (const k of UINT_FIELDS) {
    if (!isSafeUint(r[k])) return where(`${k} must be a non-negative integer`);
  }
  const q = r.q;
  if (q !== undefined && !(Number.isInteger(q) && typeof q === 'number' && q >= 0 && q <= 1000)) {
    return where('q must be undefined or an integer 0..1000');
  }
  for (const k of OPT_STRING_FIELDS) {
    if (!isOptString(r[k])) return where(`${k} must be a string or undefined`);
  }
  if (!isStringArray(r.path)) return where('path must be an array of strings');
  if (!isStringArray(r.tempGruus)) return where('tempGruus must be an array of strings');
  if (r.methods !== undefined && !isStringArray(r.methods)) {
    return where('methods must be undefined or an array of strings');
  }
  return undefined;
}

const UINT_FIELDS = ['cseq', 'regId', 'flags', 'lastModified', 'seq'] as const;
const OPT_STRING_FIELDS = ['received', 'userAgent', 'instance', 'flowId', 'socket'] as const;

/**
 * Validates a whole `apply(aor, changes)` before a store touches anything, so an invalid change
 * writes nothing: the AoR is a non-empty string, every upsert passes {@link checkBinding}, every
 * removal is a non-empty string, and no ruid appears twice (in upserts, or in both lists).
 * @throws InvalidArgumentError naming the first problem.
 */
export function assertValidChanges(aor: string, changes: AorChanges): void {
  if (typeof aor !== 'string' || aor === '')
    throw new InvalidArgumentError('location: aor must be a non-empty string');
  if (
    typeof changes !== 'object' ||
    changes === null ||
    !Array.isArray(changes.upsert) ||
    !Array.isArray(changes.remove)
  ) {
    throw new InvalidArgumentError('location: changes must have upsert[] and remove[]');
  }
  const seen = new Set<string>();
  for (const b of changes.upsert) {
    const problem = checkBinding(b, aor);
    if (problem !== undefined) throw new InvalidArgumentError(`location: invalid ${problem}`);
    if (seen.has(b.ruid)) throw new InvalidArgumentError(`location: ruid ${b.ruid} upserted twice`);
    seen.add(b.ruid);
  }
  for (const ruid of changes.remove) {
    if (typeof ruid !== 'string' || ruid === '')
      throw new InvalidArgumentError('location: remove[] holds a non-string ruid');
    if (seen.has(ruid))
      throw new InvalidArgumentError(`location: ruid ${ruid} is both upserted and removed`);
  }
}

/** The error of an upsert whose ruid is a current binding of another AoR (ruids are unique). */
export function ruidTaken(ruid: string): InvalidArgumentError {
  return new InvalidArgumentError(`location: ruid ${ruid} belongs to another AoR`);
}

function frozenList(v: readonly string[]): readonly string[] {
  return v.length === 0 ? EMPTY : Object.freeze([...v]);
}

/**
 * A frozen copy of a valid binding with exactly the {@link Binding} fields, always in the same
 * order (one object shape for all stored bindings) and sharing one frozen empty array.
 */
export function normalizeBinding(b: Binding): Binding {
  // fields are often substrings of the REGISTER: detached, a binding does not pin that message
  const d = (v: string | undefined): string | undefined =>
    v === undefined ? undefined : detach(v);
  return Object.freeze({
    ruid: detach(b.ruid),
    aor: detach(b.aor),
    contact: detach(b.contact),
    received: d(b.received),
    path: frozenList(b.path.map(detach)),
    expires: b.expires,
    q: b.q,
    callId: detach(b.callId),
    cseq: b.cseq,
    userAgent: d(b.userAgent),
    instance: d(b.instance),
    regId: b.regId,
    flowId: d(b.flowId),
    socket: d(b.socket),
    methods: b.methods === undefined ? undefined : frozenList(b.methods.map(detach)),
    flags: b.flags,
    lastModified: b.lastModified,
    seq: b.seq,
    tempGruus: frozenList(b.tempGruus.map(detach)),
  });
}

/** A binding object with every field still to be checked (a row or decoded JSON being read). */
export type UncheckedBinding = { -readonly [K in keyof Binding]: unknown };

/** A list the caller owns, frozen in place (the shared empty one when empty). */
function frozenOwn(v: readonly string[]): readonly string[] {
  return v.length === 0 ? EMPTY : Object.freeze(v);
}

/**
 * Like {@link readStoredBinding} for an object the caller has just built from a stored row, with
 * exactly the {@link Binding} fields in their order, from strings and arrays of its own (decoded,
 * not substrings of a message): checked, then frozen in place, without a second copy (issue 12 §1).
 */
export function adoptStoredBinding(v: UncheckedBinding): Binding | undefined {
  const aor = v.aor;
  if (typeof aor !== 'string' || checkBinding(v, aor) !== undefined) return undefined;
  const b = v as { -readonly [K in keyof Binding]: Binding[K] };
  b.path = frozenOwn(b.path);
  b.tempGruus = frozenOwn(b.tempGruus);
  if (b.methods !== undefined) b.methods = frozenOwn(b.methods);
  return Object.freeze(b);
}

/**
 * Reads a binding a backend stored (decoded JSON or a row turned into an object): undefined when
 * it is not a valid binding, else its normalized copy.
 */
export function readStoredBinding(v: unknown): Binding | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const aor = (v as { readonly aor?: unknown }).aor;
  if (typeof aor !== 'string' || checkBinding(v, aor) !== undefined) return undefined;
  return normalizeBinding(v as Binding);
}
