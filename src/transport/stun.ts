import { createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { bytesToIPv4, bytesToIPv6, ipFamily, ipv4ToBytes, ipv6ToBytes, unmapIPv4 } from './ip.js';
import type { Address } from './types.js';

/**
 * A STUN Binding server for the SIP UDP port (RFC 5626 §8, RFC 5389, RFC 3489 clients), with the
 * behaviour of Kamailio's stun module (outbound.md §1.11.1): enough for keep-alives and NAT
 * discovery, no authentication. Also the encoder/decoder the tests check against RFC 5769.
 */

/** RFC 5389 §6: the fixed magic cookie. */
export const MAGIC_COOKIE = 0x2112a442;
/** STUN header size (RFC 5389 §6). */
export const STUN_HEADER_SIZE = 20;

/** Message types used here (RFC 5389 §6, §18.1). */
export const StunType = {
  BindingRequest: 0x0001,
  BindingSuccess: 0x0101,
  BindingError: 0x0111,
} as const;

/** Attribute types (RFC 5389 §18.2, RFC 3489 §11.2). */
export const StunAttr = {
  MappedAddress: 0x0001,
  ResponseAddress: 0x0002,
  ChangeRequest: 0x0003,
  SourceAddress: 0x0004,
  ChangedAddress: 0x0005,
  Username: 0x0006,
  Password: 0x0007,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ReflectedFrom: 0x000b,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorMappedAddress: 0x0020,
  Software: 0x8022,
  AlternateServer: 0x8023,
  Fingerprint: 0x8028,
} as const;

/** Comprehension-required attributes (type < 0x8000) this server understands; others get 420. */
const KNOWN_REQUIRED = new Set<number>([
  StunAttr.MappedAddress,
  StunAttr.ResponseAddress,
  StunAttr.ChangeRequest,
  StunAttr.SourceAddress,
  StunAttr.ChangedAddress,
  StunAttr.Username,
  StunAttr.Password,
  StunAttr.MessageIntegrity,
  StunAttr.ErrorCode,
  StunAttr.UnknownAttributes,
  StunAttr.ReflectedFrom,
  StunAttr.Realm,
  StunAttr.Nonce,
  StunAttr.XorMappedAddress,
]);

/** RFC 5389 §15.5: FINGERPRINT is CRC-32 XOR this. */
const FINGERPRINT_XOR = 0x5354554e;

export interface StunAttribute {
  readonly type: number;
  /** Value bytes without padding (a view into the message). */
  readonly value: Buffer;
  /** Offset of the attribute header in the message. */
  readonly offset: number;
}

/** A decoded STUN message. */
export interface StunMessage {
  readonly type: number;
  /** The header's length field (bytes after the header). */
  readonly length: number;
  /** True when bytes 4..8 hold the RFC 5389 magic cookie. */
  readonly cookie: boolean;
  /** Bytes 4..20: cookie + 96-bit transaction id (RFC 5389), or the 128-bit id (RFC 3489). */
  readonly transactionId: Buffer;
  readonly attributes: readonly StunAttribute[];
}

/** The class bits of a message type (RFC 5389 §6): 0 request, 1 indication, 2 success, 3 error. */
export function stunClass(type: number): 0 | 1 | 2 | 3 {
  return ((((type >> 7) & 0x2) | ((type >> 4) & 0x1)) & 3) as 0 | 1 | 2 | 3;
}

/** The method bits of a message type (RFC 5389 §6). */
export function stunMethod(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

/** Why a message could not be decoded. */
export type StunDecodeError = 'short' | 'not-stun' | 'length-mismatch' | 'bad-attribute';

/**
 * Decodes the header and the attribute list (values are views). The length field must equal the
 * bytes that follow the header and be a multiple of 4 (RFC 5389 §6); each attribute with its
 * padding must fit.
 */
export function decodeStun(
  buf: Buffer,
): { ok: true; msg: StunMessage } | { ok: false; error: StunDecodeError } {
  if (buf.length < STUN_HEADER_SIZE) return { ok: false, error: 'short' };
  const type = buf.readUInt16BE(0);
  if ((type & 0xc000) !== 0) return { ok: false, error: 'not-stun' };
  const length = buf.readUInt16BE(2);
  if (length + STUN_HEADER_SIZE !== buf.length || (length & 3) !== 0)
    return { ok: false, error: 'length-mismatch' };
  const attributes: StunAttribute[] = [];
  let off = STUN_HEADER_SIZE;
  while (off < buf.length) {
    if (off + 4 > buf.length) return { ok: false, error: 'bad-attribute' };
    const at = buf.readUInt16BE(off);
    const al = buf.readUInt16BE(off + 2);
    const padded = (al + 3) & ~3;
    if (off + 4 + padded > buf.length) return { ok: false, error: 'bad-attribute' };
    attributes.push({ type: at, value: buf.subarray(off + 4, off + 4 + al), offset: off });
    off += 4 + padded;
  }
  return {
    ok: true,
    msg: {
      type,
      length,
      cookie: buf.readUInt32BE(4) === MAGIC_COOKIE,
      transactionId: buf.subarray(4, 20),
      attributes,
    },
  };
}

/**
 * Encodes a message: header, then each attribute padded to 4 bytes. `transactionId` is bytes
 * 4..20 (cookie + id for RFC 5389). `padByte` fills padding (0; RFC 5769's vectors use 0x20).
 */
export function encodeStun(
  type: number,
  transactionId: Uint8Array,
  attributes: readonly { type: number; value: Uint8Array }[],
  padByte = 0,
): Buffer {
  let len = 0;
  for (const a of attributes) len += 4 + ((a.value.length + 3) & ~3);
  const out = Buffer.alloc(STUN_HEADER_SIZE + len, 0);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(len, 2);
  out.set(transactionId.subarray(0, 16), 4);
  let off = STUN_HEADER_SIZE;
  for (const a of attributes) {
    out.writeUInt16BE(a.type, off);
    out.writeUInt16BE(a.value.length, off + 2);
    out.set(a.value, off + 4);
    const padded = (a.value.length + 3) & ~3;
    if (padByte !== 0) out.fill(padByte, off + 4 + a.value.length, off + 4 + padded);
    off += 4 + padded;
  }
  return out;
}

/** MAPPED-ADDRESS value (RFC 5389 §15.1; RFC 3489 §11.2.1): reserved, family, port, address. */
export function encodeMappedAddress(addr: Address): Buffer {
  const v4 = unmapIPv4(addr.address) ?? (ipFamily(addr.address) === 4 ? addr.address : undefined);
  const ip = v4 !== undefined ? ipv4ToBytes(v4) : ipv6ToBytes(addr.address);
  const out = Buffer.alloc(4 + ip.length);
  out[1] = v4 !== undefined ? 0x01 : 0x02;
  out.writeUInt16BE(addr.port & 0xffff, 2);
  out.set(ip, 4);
  return out;
}

/**
 * XOR-MAPPED-ADDRESS value (RFC 5389 §15.2): port XOR the cookie's top 16 bits; IPv4 address XOR
 * the cookie; IPv6 address XOR cookie ‖ transaction id. `transactionId` is bytes 4..20.
 */
export function encodeXorMappedAddress(addr: Address, transactionId: Uint8Array): Buffer {
  const out = encodeMappedAddress(addr);
  xorAddress(out, transactionId);
  return out;
}

/** Decodes a MAPPED-ADDRESS value; undefined when malformed. */
export function decodeMappedAddress(value: Uint8Array): Address | undefined {
  const family = value[1];
  const port = ((value[2] ?? 0) << 8) | (value[3] ?? 0);
  if (family === 0x01 && value.length === 8) return { address: bytesToIPv4(value, 4), port };
  if (family === 0x02 && value.length === 20) return { address: bytesToIPv6(value, 4), port };
  return undefined;
}

/** Decodes an XOR-MAPPED-ADDRESS value; `transactionId` is bytes 4..20 of the message. */
export function decodeXorMappedAddress(
  value: Uint8Array,
  transactionId: Uint8Array,
): Address | undefined {
  const plain = Buffer.from(value);
  xorAddress(plain, transactionId);
  return decodeMappedAddress(plain);
}

function xorAddress(v: Buffer, transactionId: Uint8Array): void {
  if (v.length < 4) return;
  v[2] = (v[2] ?? 0) ^ 0x21;
  v[3] = (v[3] ?? 0) ^ 0x12;
  // cookie ‖ transaction id == bytes 4..20 of an RFC 5389 message
  for (let i = 4; i < v.length; i++) v[i] = (v[i] ?? 0) ^ (transactionId[i - 4] ?? 0);
}

/** ERROR-CODE value (RFC 5389 §15.6): class = code / 100, number = code % 100, UTF-8 reason. */
export function encodeErrorCode(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const out = Buffer.alloc(4 + text.length);
  out[2] = Math.floor(code / 100) & 0x07;
  out[3] = code % 100;
  out.set(text, 4);
  return out;
}

/** Decodes an ERROR-CODE value. */
export function decodeErrorCode(value: Uint8Array): { code: number; reason: string } {
  const code = ((value[2] ?? 0) & 0x07) * 100 + (value[3] ?? 0);
  return { code, reason: Buffer.from(value.subarray(4)).toString('utf8') };
}

/**
 * FINGERPRINT value for a message whose FINGERPRINT attribute header starts at `attrOffset`
 * (RFC 5389 §15.5): CRC-32 of the bytes before it, with the header length covering it, XOR 0x5354554e.
 */
export function computeFingerprint(msg: Buffer, attrOffset: number): number {
  const head = Buffer.from(msg.subarray(0, attrOffset));
  head.writeUInt16BE(attrOffset + 8 - STUN_HEADER_SIZE, 2);
  return (crc32(head) ^ FINGERPRINT_XOR) >>> 0;
}

/**
 * MESSAGE-INTEGRITY value for a message whose MESSAGE-INTEGRITY attribute header starts at
 * `attrOffset` (RFC 5389 §15.4): HMAC-SHA1 over the bytes before it, with the header length
 * covering it. `key` is the short-term password (SASLprep left to the caller).
 */
export function computeMessageIntegrity(
  msg: Buffer,
  attrOffset: number,
  key: string | Uint8Array,
): Buffer {
  const head = Buffer.from(msg.subarray(0, attrOffset));
  head.writeUInt16BE(attrOffset + 24 - STUN_HEADER_SIZE, 2);
  return createHmac('sha1', key).update(head).digest();
}

/** What the Binding server did with a datagram. */
export type StunOutcome =
  | { readonly kind: 'ignore'; readonly why: string }
  | { readonly kind: 'success'; readonly response: Buffer }
  | { readonly kind: 'error'; readonly code: number; readonly response: Buffer };

/** Options of {@link answerStun}. */
export interface StunServerOptions {
  /** SOFTWARE text for RFC 5389 responses (RFC 5389 §15.10); empty: none. */
  readonly software: string;
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  420: 'Unknown Attribute',
  600: 'Global Failure',
};

/**
 * Answers one datagram that the demultiplexer classified as STUN (first byte 0x00–0x03, RFC 7983
 * §7). Never throws. Behaviour (outbound.md §1.11.1, spec items 63–68):
 * - < 20 bytes: ignored (the 4-byte zero "UDP ping" too).
 * - indications and responses: ignored (RFC 5389 §7.3.2, §7.3.3; answering them could loop).
 * - length field ≠ bytes present, or attributes that do not fit: 400.
 * - a request that is not Binding: 600 Global Failure (Kamailio).
 * - a comprehension-required attribute it does not know: 420 + UNKNOWN-ATTRIBUTES (RFC 5389 §7.3.1).
 * - FINGERPRINT not the last attribute: 400 (RFC 5389 §15.5).
 * - otherwise 0x0101 with XOR-MAPPED-ADDRESS + SOFTWARE when the magic cookie is present,
 *   else (RFC 3489 client) MAPPED-ADDRESS only. MESSAGE-INTEGRITY is not checked (Kamailio).
 */
export function answerStun(buf: Buffer, source: Address, opts: StunServerOptions): StunOutcome {
  if (buf.length < STUN_HEADER_SIZE) return { kind: 'ignore', why: 'shorter than a STUN header' };
  const type = buf.readUInt16BE(0);
  if ((type & 0xc000) !== 0) return { kind: 'ignore', why: 'not STUN' };
  const cls = stunClass(type);
  if (cls !== 0) return { kind: 'ignore', why: cls === 1 ? 'STUN indication' : 'STUN response' };
  const cookie = buf.readUInt32BE(4) === MAGIC_COOKIE;
  const tid = buf.subarray(4, 20);
  const length = buf.readUInt16BE(2);
  // RFC 5389 §6: the length excludes the header and is a multiple of 4
  if (length + STUN_HEADER_SIZE !== buf.length || (length & 3) !== 0) {
    return errorResponse(400, tid, cookie, opts, undefined);
  }
  if (type !== StunType.BindingRequest) return errorResponse(600, tid, cookie, opts, undefined);
  const dec = decodeStun(buf);
  if (!dec.ok) return errorResponse(400, tid, cookie, opts, undefined);
  const attrs = dec.msg.attributes;
  let unknown: number[] | undefined;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i] as StunAttribute;
    // RFC 5389 §15.5: FINGERPRINT, when present, is the last attribute
    if (a.type === StunAttr.Fingerprint && i !== attrs.length - 1)
      return errorResponse(400, tid, cookie, opts, undefined);
    // RFC 5389 §7.3.1: unknown comprehension-required attributes (0x0000–0x7FFF) → 420
    if (a.type < 0x8000 && !KNOWN_REQUIRED.has(a.type)) {
      if (unknown === undefined) unknown = [a.type];
      else unknown.push(a.type);
    }
  }
  if (unknown !== undefined) return errorResponse(420, tid, cookie, opts, unknown);
  const out: { type: number; value: Uint8Array }[] = [];
  if (cookie) {
    out.push({ type: StunAttr.XorMappedAddress, value: encodeXorMappedAddress(source, tid) });
    if (opts.software.length > 0)
      out.push({ type: StunAttr.Software, value: softwareValue(opts.software) });
  } else {
    // RFC 3489 §11.2.1: a classic client understands only MAPPED-ADDRESS
    out.push({ type: StunAttr.MappedAddress, value: encodeMappedAddress(source) });
  }
  return { kind: 'success', response: encodeStun(StunType.BindingSuccess, tid, out) };
}

function errorResponse(
  code: number,
  tid: Buffer,
  cookie: boolean,
  opts: StunServerOptions,
  unknown: number[] | undefined,
): StunOutcome {
  const out: { type: number; value: Uint8Array }[] = [
    { type: StunAttr.ErrorCode, value: encodeErrorCode(code, REASONS[code] ?? 'Error') },
  ];
  if (unknown !== undefined) {
    // RFC 5389 §15.9: a list of 16-bit types, padded to 4 bytes; RFC 3489 §11.2.10 repeats one
    // type instead of padding when the count is odd
    const list = unknown.slice(0, 64);
    if (!cookie && list.length % 2 === 1) list.push(list[list.length - 1] ?? 0);
    const v = Buffer.alloc(list.length * 2);
    for (let i = 0; i < list.length; i++) v.writeUInt16BE(list[i] ?? 0, i * 2);
    out.push({ type: StunAttr.UnknownAttributes, value: v });
  }
  if (cookie && opts.software.length > 0)
    out.push({ type: StunAttr.Software, value: softwareValue(opts.software) });
  return { kind: 'error', code, response: encodeStun(StunType.BindingError, tid, out) };
}

const softwareCache = new Map<string, Buffer>();

/** RFC 5389 §15.10: fewer than 128 characters and at most 763 bytes of UTF-8. */
function softwareValue(text: string): Buffer {
  let v = softwareCache.get(text);
  if (v === undefined) {
    let t = [...text].slice(0, 127).join('');
    while (Buffer.byteLength(t, 'utf8') > 763) t = t.slice(0, -1);
    v = Buffer.from(t, 'utf8');
    if (softwareCache.size < 16) softwareCache.set(text, v);
  }
  return v;
}
