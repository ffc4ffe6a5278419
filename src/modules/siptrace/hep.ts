import { bytesToIPv4, bytesToIPv6, ipv4ToBytes, ipv6ToBytes } from '../../transport/ip.js';
import type { Address } from '../../transport/types.js';

/**
 * HEP version 3 (HEP/EEP, the Homer Encapsulation Protocol, github.com/sipcapture/HEP): a captured
 * packet with where it went, when, and by whom, as a header (`HEP3`, total length) followed by
 * chunks of `vendor id (u16) | type id (u16) | length (u16, the 6 header octets included) | value`,
 * all in network byte order. Kamailio's siptrace (`hep_mode_on`, `hep_version 3`) and sipcapture,
 * heplify-server and sngrep (`-L`) speak it.
 */

/** The generic chunk types (vendor id 0) flowgate writes or reads. */
export const HepChunk = {
  /** uint8: IP protocol family (AF_INET 2, AF_INET6 10). */
  IpFamily: 0x0001,
  /** uint8: IP protocol number (UDP 17, TCP 6). */
  IpProto: 0x0002,
  /** 4 octets. */
  Ipv4Src: 0x0003,
  Ipv4Dst: 0x0004,
  /** 16 octets. */
  Ipv6Src: 0x0005,
  Ipv6Dst: 0x0006,
  /** uint16. */
  SrcPort: 0x0007,
  DstPort: 0x0008,
  /** uint32: seconds since the epoch. */
  TimeSec: 0x0009,
  /** uint32: microseconds within the second. */
  TimeUsec: 0x000a,
  /** uint8: what the payload is ({@link HepProtoType}). */
  ProtoType: 0x000b,
  /** uint32: the capture agent (Kamailio `hep_capture_id`). */
  CaptureId: 0x000c,
  /** uint16: keep-alive timer (unused here). */
  KeepaliveTimer: 0x000d,
  /** octets: the shared key the collector checks (Kamailio siptrace `auth_key`). */
  AuthKey: 0x000e,
  /** octets: the captured packet (the SIP message). */
  Payload: 0x000f,
  /** octets: compressed payload (not written). */
  CompressedPayload: 0x0010,
  /** octets: the internal correlation id (for SIP, the Call-ID). */
  CorrelationId: 0x0011,
} as const;
export type HepChunk = (typeof HepChunk)[keyof typeof HepChunk];

/** Payload types of the {@link HepChunk.ProtoType} chunk. */
export const HepProtoType = {
  Sip: 1,
} as const;

/** IP protocol numbers of the {@link HepChunk.IpProto} chunk. */
export const IpProto = {
  Tcp: 6,
  Udp: 17,
} as const;

/** Address family numbers of the {@link HepChunk.IpFamily} chunk (Linux AF_INET / AF_INET6, as Kamailio writes them). */
export const HepFamily = {
  Ipv4: 2,
  Ipv6: 10,
} as const;

/** Largest HEP packet: the total length field is 16 bits. */
export const HEP_MAX_LENGTH = 0xffff;

/** One captured message, as {@link encodeHep} writes it and {@link decodeHep} reads it. */
export interface HepPacket {
  /** 4 or 6. With one IPv4 and one IPv6 address, the IPv4 one is written IPv4-mapped. */
  readonly family: 4 | 6;
  /** {@link IpProto}: UDP 17; TCP, TLS and WebSocket 6. */
  readonly ipProto: number;
  readonly src: Address;
  readonly dst: Address;
  readonly timeSec: number;
  readonly timeUsec: number;
  /** {@link HepProtoType}; 1 = SIP. */
  readonly protoType: number;
  readonly captureId: number;
  readonly authKey?: string | undefined;
  readonly payload: Buffer;
  /**
   * The Call-ID, for a SIP message: as text, or (on the capture path, without making a string of
   * it) where it is in some bytes.
   */
  readonly correlationId?: string | ByteSpan | undefined;
}

/** Octets `[start, end)` of `buf`. */
export interface ByteSpan {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
}

const CHUNK_HEADER = 6;

function isV6(address: string): boolean {
  return address.includes(':');
}

/** Address octets by text, per family (a proxy talks to few addresses; cleared when it grows). */
const ipCache: [Map<string, number[]>, Map<string, number[]>] = [new Map(), new Map()];
const IP_CACHE_MAX = 4096;

/** An address for a packet of `family` (an IPv4 one as `::ffff:a.b.c.d` in an IPv6 packet). */
function ipBytes(address: string, family: 4 | 6): number[] {
  const cache = ipCache[family === 4 ? 0 : 1];
  let b = cache.get(address);
  if (b === undefined) {
    b = [
      ...(family === 4
        ? ipv4ToBytes(address)
        : ipv6ToBytes(isV6(address) ? address : `::ffff:${address}`)),
    ];
    if (cache.size >= IP_CACHE_MAX) cache.clear();
    cache.set(address, b);
  }
  return b;
}

/** Copies small arrays of octets without a call into native code (the capture path's rule). */
function putBytes(out: Buffer, o: number, b: readonly number[] | Buffer): number {
  for (let i = 0; i < b.length; i++) out[o + i] = b[i] ?? 0;
  return o + b.length;
}

/** Octets of a string in UTF-8: its length when it is ASCII (a Call-ID nearly always is). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++)
    if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

let lastKey: string | undefined;
let lastKeyBytes: Buffer = Buffer.alloc(0);

function keyBytes(key: string): Buffer {
  if (key !== lastKey) {
    lastKey = key;
    lastKeyBytes = Buffer.from(key, 'utf8');
  }
  return lastKeyBytes;
}

/** Writes a chunk header (vendor 0) at `o`; returns the offset of its value. */
function chunkAt(out: Buffer, o: number, type: number, len: number): number {
  const l = CHUNK_HEADER + len;
  out[o] = 0;
  out[o + 1] = 0;
  out[o + 2] = type >>> 8;
  out[o + 3] = type & 0xff;
  out[o + 4] = l >>> 8;
  out[o + 5] = l & 0xff;
  return o + CHUNK_HEADER;
}

function u16At(out: Buffer, o: number, v: number): number {
  out[o] = (v >>> 8) & 0xff;
  out[o + 1] = v & 0xff;
  return o + 2;
}

function u32At(out: Buffer, o: number, v: number): number {
  out[o] = (v >>> 24) & 0xff;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
  return o + 4;
}

/** Sizes of one packet's parts, computed once (see {@link hepLayout}). */
export interface HepLayout {
  readonly family: 4 | 6;
  readonly auth: Buffer | undefined;
  readonly corr: string | ByteSpan | undefined;
  readonly corrLen: number;
  /** Octets before the payload's value (the header and every chunk before it). */
  readonly headLen: number;
  /** Octets after the payload (the correlation id chunk). */
  readonly tailLen: number;
  /** The whole packet. */
  readonly total: number;
}

/** The layout of a packet; undefined when it would be longer than {@link HEP_MAX_LENGTH}. */
export function hepLayout(p: HepPacket): HepLayout | undefined {
  const family = p.family === 6 || isV6(p.src.address) || isV6(p.dst.address) ? 6 : 4;
  const ipLen = family === 4 ? 4 : 16;
  const auth = p.authKey === undefined ? undefined : keyBytes(p.authKey);
  const c = p.correlationId;
  // an empty Call-ID (text or span) gets no chunk
  const corr =
    c === undefined || (typeof c === 'string' ? c === '' : c.end <= c.start) ? undefined : c;
  const corrLen =
    corr === undefined ? 0 : typeof corr === 'string' ? utf8Length(corr) : corr.end - corr.start;
  const headLen =
    6 + // HEP3 + length
    (CHUNK_HEADER + 1) * 2 + // family, protocol
    (CHUNK_HEADER + 2) * 2 + // ports
    (CHUNK_HEADER + 4) * 2 + // seconds, microseconds
    (CHUNK_HEADER + 1) + // protocol type
    (CHUNK_HEADER + 4) + // capture id
    (CHUNK_HEADER + ipLen) * 2 +
    (auth === undefined ? 0 : CHUNK_HEADER + auth.length) +
    CHUNK_HEADER; // the payload chunk's header
  const tailLen = corr === undefined ? 0 : CHUNK_HEADER + corrLen;
  const total = headLen + p.payload.length + tailLen;
  if (total > HEP_MAX_LENGTH) return undefined;
  return { family, auth, corr, corrLen, headLen, tailLen, total };
}

/** Writes the header and the chunks before the payload's value at `o`; returns where it ends. */
function writeHead(out: Buffer, o: number, p: HepPacket, l: HepLayout): number {
  const family = l.family;
  const ipLen = family === 4 ? 4 : 16;
  out[o] = 0x48; // H
  out[o + 1] = 0x45; // E
  out[o + 2] = 0x50; // P
  out[o + 3] = 0x33; // 3
  o = u16At(out, o + 4, l.total);
  o = chunkAt(out, o, HepChunk.IpFamily, 1);
  out[o++] = family === 4 ? HepFamily.Ipv4 : HepFamily.Ipv6;
  o = chunkAt(out, o, HepChunk.IpProto, 1);
  out[o++] = p.ipProto & 0xff;
  o = u16At(out, chunkAt(out, o, HepChunk.SrcPort, 2), p.src.port);
  o = u16At(out, chunkAt(out, o, HepChunk.DstPort, 2), p.dst.port);
  o = u32At(out, chunkAt(out, o, HepChunk.TimeSec, 4), p.timeSec);
  o = u32At(out, chunkAt(out, o, HepChunk.TimeUsec, 4), p.timeUsec);
  o = chunkAt(out, o, HepChunk.ProtoType, 1);
  out[o++] = p.protoType & 0xff;
  o = u32At(out, chunkAt(out, o, HepChunk.CaptureId, 4), p.captureId);
  o = chunkAt(out, o, family === 4 ? HepChunk.Ipv4Src : HepChunk.Ipv6Src, ipLen);
  o = putBytes(out, o, ipBytes(p.src.address, family));
  o = chunkAt(out, o, family === 4 ? HepChunk.Ipv4Dst : HepChunk.Ipv6Dst, ipLen);
  o = putBytes(out, o, ipBytes(p.dst.address, family));
  if (l.auth !== undefined) {
    o = chunkAt(out, o, HepChunk.AuthKey, l.auth.length);
    o = putBytes(out, o, l.auth);
  }
  return chunkAt(out, o, HepChunk.Payload, p.payload.length);
}

/** Writes the chunks after the payload at `o`; returns where they end. */
function writeTail(out: Buffer, o: number, l: HepLayout): number {
  const c = l.corr;
  if (c === undefined) return o;
  o = chunkAt(out, o, HepChunk.CorrelationId, l.corrLen);
  if (typeof c !== 'string') {
    const b = c.buf;
    for (let i = c.start; i < c.end; i++) out[o++] = b[i] ?? 0;
    return o;
  }
  if (l.corrLen !== c.length) return o + out.write(c, o, l.corrLen, 'utf8');
  for (let i = 0; i < c.length; i++) out[o++] = c.charCodeAt(i);
  return o;
}

/**
 * Writes a whole packet of layout `l` (from {@link hepLayout}) into `out` at `at`: what the UDP
 * relay does straight into its ring, without allocating. Returns the octets written (`l.total`).
 */
export function writeHep(out: Buffer, at: number, p: HepPacket, l: HepLayout): number {
  const o = writeHead(out, at, p, l);
  // TypedArray#set: a V8 builtin, no call into Node's C++
  out.set(p.payload, o);
  return writeTail(out, o + p.payload.length, l) - at;
}

/**
 * Encodes a packet as three buffers: the header and every chunk before the payload's value, the
 * payload itself (not copied), and the chunks after it (the correlation id). Written in the order
 * Kamailio's siptrace writes (family, protocol, ports, time, protocol type, capture id, addresses,
 * auth key, payload), so that collectors that expect that layout decode it too; the correlation id
 * comes after the payload, where a collector that does not know it is not disturbed. Address
 * octets are cached.
 * @returns undefined when the packet would be longer than {@link HEP_MAX_LENGTH}
 */
export function encodeHepParts(p: HepPacket): [Buffer, Buffer, Buffer] | undefined {
  const l = hepLayout(p);
  if (l === undefined) return undefined;
  const out = Buffer.allocUnsafe(l.headLen + l.tailLen);
  writeHead(out, 0, p, l);
  writeTail(out, l.headLen, l);
  return [out.subarray(0, l.headLen), p.payload, out.subarray(l.headLen)];
}

/** Encodes a packet into one buffer (see {@link encodeHepParts}); undefined when it is too long. */
export function encodeHep(p: HepPacket): Buffer | undefined {
  const parts = encodeHepParts(p);
  return parts === undefined ? undefined : Buffer.concat(parts);
}

/** One chunk as read. */
export interface HepRawChunk {
  readonly vendor: number;
  readonly type: number;
  readonly value: Buffer;
}

/** A decoded packet, with every chunk it had (unknown and vendor chunks included). */
export interface DecodedHep extends HepPacket {
  readonly chunks: readonly HepRawChunk[];
}

/** Why {@link decodeHep} refused a packet. */
export type HepDecodeError =
  | 'short'
  | 'not-hep3'
  | 'bad-length'
  | 'bad-chunk'
  | 'missing-chunk'
  | 'bad-family';

/**
 * Decodes one HEPv3 packet from the start of `buf` (chunks in any order; vendor chunks and
 * unknown types are kept in `chunks` and otherwise ignored).
 */
export function decodeHep(
  buf: Buffer,
): { ok: true; packet: DecodedHep; length: number } | { ok: false; error: HepDecodeError } {
  if (buf.length < 6) return { ok: false, error: 'short' };
  if (buf.toString('latin1', 0, 4) !== 'HEP3') return { ok: false, error: 'not-hep3' };
  const total = buf.readUInt16BE(4);
  if (total < 6 || total > buf.length) return { ok: false, error: 'bad-length' };
  const chunks: HepRawChunk[] = [];
  const generic = new Map<number, Buffer>();
  for (let o = 6; o < total; ) {
    if (o + CHUNK_HEADER > total) return { ok: false, error: 'bad-chunk' };
    const vendor = buf.readUInt16BE(o);
    const type = buf.readUInt16BE(o + 2);
    const len = buf.readUInt16BE(o + 4);
    if (len < CHUNK_HEADER || o + len > total) return { ok: false, error: 'bad-chunk' };
    const value = buf.subarray(o + CHUNK_HEADER, o + len);
    chunks.push({ vendor, type, value });
    if (vendor === 0) generic.set(type, value);
    o += len;
  }
  const u = (type: number, size: 1 | 2 | 4): number | undefined => {
    const v = generic.get(type);
    if (v === undefined || v.length !== size) return undefined;
    return size === 1 ? (v[0] ?? 0) : size === 2 ? v.readUInt16BE(0) : v.readUInt32BE(0);
  };
  const fam = u(HepChunk.IpFamily, 1);
  const family = fam === HepFamily.Ipv4 ? 4 : fam === HepFamily.Ipv6 ? 6 : undefined;
  if (family === undefined)
    return { ok: false, error: fam === undefined ? 'missing-chunk' : 'bad-family' };
  const src = generic.get(family === 4 ? HepChunk.Ipv4Src : HepChunk.Ipv6Src);
  const dst = generic.get(family === 4 ? HepChunk.Ipv4Dst : HepChunk.Ipv6Dst);
  const ipLen = family === 4 ? 4 : 16;
  const ipProto = u(HepChunk.IpProto, 1);
  const srcPort = u(HepChunk.SrcPort, 2);
  const dstPort = u(HepChunk.DstPort, 2);
  const timeSec = u(HepChunk.TimeSec, 4);
  const timeUsec = u(HepChunk.TimeUsec, 4);
  const payload = generic.get(HepChunk.Payload);
  if (
    src?.length !== ipLen ||
    dst?.length !== ipLen ||
    ipProto === undefined ||
    srcPort === undefined ||
    dstPort === undefined ||
    timeSec === undefined ||
    timeUsec === undefined ||
    payload === undefined
  )
    return { ok: false, error: 'missing-chunk' };
  const text = (v: Buffer | undefined): string | undefined => v?.toString('utf8');
  const ip = (b: Buffer): string => (family === 4 ? bytesToIPv4(b) : bytesToIPv6(b));
  return {
    ok: true,
    length: total,
    packet: {
      family,
      ipProto,
      src: { address: ip(src), port: srcPort },
      dst: { address: ip(dst), port: dstPort },
      timeSec,
      timeUsec,
      protoType: u(HepChunk.ProtoType, 1) ?? 0,
      captureId: u(HepChunk.CaptureId, 4) ?? 0,
      authKey: text(generic.get(HepChunk.AuthKey)),
      payload,
      correlationId: text(generic.get(HepChunk.CorrelationId)),
      chunks,
    },
  };
}

/**
 * Splits a HEP-over-TCP byte stream into packets (each carries its own length): the complete
 * packets at the start of `buf`, and the bytes of an incomplete one left over.
 * @returns undefined when the stream is not HEPv3 (it cannot be resynchronised)
 */
export function splitHepStream(buf: Buffer): { packets: Buffer[]; rest: Buffer } | undefined {
  const packets: Buffer[] = [];
  let o = 0;
  while (buf.length - o >= 6) {
    if (buf.toString('latin1', o, o + 4) !== 'HEP3') return undefined;
    const len = buf.readUInt16BE(o + 4);
    if (len < 6) return undefined;
    if (buf.length - o < len) break;
    packets.push(buf.subarray(o, o + len));
    o += len;
  }
  return { packets, rest: buf.subarray(o) };
}
