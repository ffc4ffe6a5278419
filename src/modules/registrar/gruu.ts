import { randomBytes } from 'node:crypto';
import { percentDecode as uriUnescape } from '../../message/parse/chars.js';
import type { Aor } from './aor.js';

/**
 * Kamailio's `core_hash` of a string (outbound.md §2.7): 32-bit sum over big-endian 4-byte words
 * `v ^ (v >>> 3)`, the 0..3 remaining bytes as one more word, then the finishing mix. flowgate writes
 * it into temp-GRUUs the way Kamailio does, so a temp-GRUU names its AoR's hash (conformance #126).
 */
export function coreHash(s: string): number {
  const b = Buffer.from(s, 'utf8');
  let h = 0;
  let i = 0;
  for (; i + 4 <= b.length; i += 4) {
    const v =
      (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>>
      0;
    h = (h + (v ^ (v >>> 3))) >>> 0;
  }
  let v = 0;
  for (; i < b.length; i++) v = ((v << 8) | (b[i] ?? 0)) >>> 0;
  h = (h + (v ^ (v >>> 3))) >>> 0;
  return (h + (h >>> 11) + ((h >>> 13) + (h >>> 23))) >>> 0;
}

/** A 32-bit number as lower-case hex digits, least-significant nibble first (Kamailio's temp-GRUU form); `0` for zero. */
export function hashHex(h: number): string {
  if (h === 0) return '0';
  let out = '';
  for (let x = h >>> 0; x !== 0; x >>>= 4) out += (x & 0xf).toString(16);
  return out;
}

/** Reads {@link hashHex} back; undefined when the text is not 1..8 hex digits. */
export function parseHashHex(s: string): number | undefined {
  if (!/^[0-9a-fA-F]{1,8}$/.test(s)) return undefined;
  let h = 0;
  for (let i = s.length - 1; i >= 0; i--) h = ((h << 4) | Number.parseInt(s[i] ?? '0', 16)) >>> 0;
  return h;
}

/** The AoR hash as written in temp-GRUUs. */
export function aorHashHex(aorKey: string): string {
  return hashHex(coreHash(aorKey));
}

/** A fresh temp-GRUU nonce: 64 random bits as 16 hex digits (RFC 5627 §3.2: hard to guess). */
export function newTempGruuNonce(): string {
  return randomBytes(8).toString('hex');
}

/** The instance id with one enclosing `<>` removed (how Kamailio compares instances). */
export function stripAngle(instance: string): string {
  return instance.length >= 2 && instance.startsWith('<') && instance.endsWith('>')
    ? instance.slice(1, -1)
    : instance;
}

/** RFC 5626 §4.1: two `+sip.instance` values name the same instance (one enclosing `<>` ignored). */
export function sameInstance(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && stripAngle(a) === stripAngle(b);
}

// RFC 3261 §25.1 paramchar: param-unreserved / unreserved / escaped
const PARAM_SAFE = /[A-Za-z0-9\-_.!~*'()[\]/:&+$]/;

/** Escapes a value for use as a URI parameter value (RFC 3261 §25.1 `pvalue`). */
export function escapeParamValue(v: string): string {
  let out = '';
  for (const ch of v) {
    if (PARAM_SAFE.test(ch)) out += ch;
    else
      for (const byte of Buffer.from(ch, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The public GRUU of an instance (RFC 5627 §3.1, outbound.md §2.7): the AoR with `gr` set to the
 * instance id without `<>`. The user part is written as the UA registered it (decision Q-R6), the
 * host is the To host (lower-cased).
 */
export function pubGruu(aor: Aor, instance: string): string {
  const host = aor.host.includes(':') ? `[${aor.host}]` : aor.host;
  return `sip:${aor.user}@${host};gr=${escapeParamValue(stripAngle(instance))}`;
}

/**
 * A temporary GRUU (RFC 5627 §3.2): `sip:<ruid>-<aorhash>.<nonce>@<host>;gr`. The ruid finds the
 * binding (kept across refreshes), the AoR hash is Kamailio's (conformance #126), the nonce is new
 * for every REGISTER that refreshes the binding and is checked against `Binding.tempGruus`.
 */
export function tempGruu(ruid: string, aorKey: string, host: string, nonce: string): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `sip:${ruid}-${aorHashHex(aorKey)}.${nonce}@${h};gr`;
}

/** The parts of a temp-GRUU user part. */
export interface TempGruuParts {
  readonly ruid: string;
  readonly hash: number;
  readonly nonce: string;
}

/**
 * Splits a temp-GRUU user part (%-unescaped first): undefined when it is not one (no `.` before the
 * nonce, no `-` before the hash, non-hex digits) — Kamailio's lookup answers -3 then.
 */
export function parseTempGruuUser(user: string): TempGruuParts | undefined {
  const u = uriUnescape(user);
  if (u === undefined) return undefined;
  const dot = u.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const nonce = u.slice(dot + 1);
  if (!/^[0-9a-f]{1,64}$/.test(nonce)) return undefined;
  const left = u.slice(0, dot);
  const dash = left.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const hash = parseHashHex(left.slice(dash + 1));
  if (hash === undefined) return undefined;
  return { ruid: left.slice(0, dash), hash, nonce };
}
