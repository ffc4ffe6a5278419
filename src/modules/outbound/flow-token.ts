import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { percentDecode } from '../../message/parse/chars.js';
import { canonicalIp, ipv4ToBytes, ipv6ToBytes } from '../../transport/ip.js';
import type { Address, Proto } from '../../transport/types.js';
import { readOrCreateSecretFile } from '../../util/secret-file.js';

/** Kamailio's transport ids in the flow token's proto byte (`enum sip_protos`). */
const PROTO_ID: Record<Proto, number> = { udp: 1, tcp: 2, tls: 3, ws: 5, wss: 6 };
const ID_PROTO: Record<number, Proto> = { 1: 'udp', 2: 'tcp', 3: 'tls', 5: 'ws', 6: 'wss' };
/** SCTP (4) can appear in a Kamailio token; flowgate has no SCTP transport. */
const SCTP = 4;

/** What a flow token names (RFC 5626 §5.2): the transport, our listening socket, the UA's address. */
export interface FlowTokenData {
  readonly proto: Proto | 'sctp';
  readonly local: Address;
  readonly remote: Address;
}

/** Result of decoding (outbound.md §1.3.6): a token, "not a token" (-2) or "broken token" (-1, tampered). */
export type DecodeResult =
  | { readonly ok: true; readonly token: FlowTokenData }
  | { readonly ok: false; readonly code: -1 | -2 };

const MAC_LEN = 10;

/**
 * The flow-token key: SHA1 of `flow_token_secret` (Kamailio master); without a secret, 20 random
 * bytes generated once and kept in `keyFile`, so a restart keeps issued tokens valid (decision Q-E3).
 * The file is created complete (temporary file, fsync, link) with mode 0600 in a directory created
 * 0700 (issue 10 §6): a crash while writing never leaves a half key that refuses every token.
 */
export function flowTokenKey(secret: string | undefined, keyFile?: string): Buffer {
  if (secret !== undefined && secret.length > 0) return createHash('sha1').update(secret).digest();
  if (keyFile === undefined) return randomBytes(20);
  const hex = readOrCreateSecretFile(keyFile, () => `${randomBytes(20).toString('hex')}\n`).trim();
  if (/^[0-9a-f]{40}$/i.test(hex)) return Buffer.from(hex, 'hex');
  throw new Error(
    `${keyFile}: not a flow-token key (expected 40 hex digits); delete it to generate a new one`,
  );
}

function ipBytes(ip: string, v6: boolean): Buffer | undefined {
  if (v6) return isIPv6(ip) ? ipv6ToBytes(ip) : undefined;
  return isIPv4(ip) ? ipv4ToBytes(ip) : undefined;
}

function ipString(b: Buffer, v6: boolean): string {
  if (!v6) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  // Kamailio writes IPv6 uncompressed with lowercase groups (outbound.md §1.6)
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
  return g.join(':');
}

/**
 * Encodes a flow token byte-compatible with Kamailio (outbound.md §1.3): base64 of
 * MAC(10) ‖ proto(1) ‖ local ip ‖ local port ‖ remote ip ‖ remote port, where MAC is the rightmost
 * 80 bits of HMAC-SHA1(key, everything after the MAC). IPv6 is flagged in the proto byte's top bit.
 */
export function encodeFlowToken(key: Buffer, data: FlowTokenData): string {
  const v6 = data.local.address.includes(':');
  const la = ipBytes(data.local.address, v6);
  const ra = ipBytes(data.remote.address, v6);
  if (la === undefined || ra === undefined)
    throw new Error(
      `flow token: address family mismatch (${data.local.address} / ${data.remote.address})`,
    );
  const n = v6 ? 16 : 4;
  const body = Buffer.alloc(1 + 2 * (n + 2));
  body[0] = (v6 ? 0x80 : 0) | (data.proto === 'sctp' ? SCTP : PROTO_ID[data.proto]);
  la.copy(body, 1);
  body.writeUInt16BE(data.local.port, 1 + n);
  ra.copy(body, 3 + n);
  body.writeUInt16BE(data.remote.port, 3 + 2 * n);
  const mac = createHmac('sha1', key)
    .update(body)
    .digest()
    .subarray(20 - MAC_LEN);
  return Buffer.concat([mac, body]).toString('base64');
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes and verifies a flow token (outbound.md §1.3.6). The user part is %-unescaped first
 * (decision Q-E7: a UA that escapes `/`, `+` or `=` must not break its own token).
 *
 * `key` may list several keys, the current one first: a token is valid when its MAC matches any of
 * them, so tokens issued before a key rotation (`flow_token_secret_previous`) stay valid. A token
 * that matches none is broken (-1).
 */
export function decodeFlowToken(
  key: Buffer | readonly Buffer[],
  userPart: string | undefined,
): DecodeResult {
  if (userPart === undefined || userPart.length === 0) return { ok: false, code: -2 };
  const s = percentDecode(userPart) ?? userPart;
  const n = s.length;
  if (n < 4 || n % 4 !== 0 || (s[n - 2] === '=' && s[n - 1] !== '='))
    return { ok: false, code: -2 };
  const declen = (n / 4) * 3 - (s[n - 2] === '=' ? 1 : 0) - (s[n - 1] === '=' ? 1 : 0);
  if (declen !== 23 && declen !== 47) return { ok: false, code: -2 };
  // Kamailio decodes any 32/64-char string; characters outside the alphabet make the MAC fail (-1)
  if (!B64.test(s)) return { ok: false, code: -1 };
  const raw = Buffer.from(s, 'base64');
  if (raw.length !== declen) return { ok: false, code: -1 };
  const body = raw.subarray(MAC_LEN);
  const given = raw.subarray(0, MAC_LEN);
  const keys = Buffer.isBuffer(key) ? [key] : key;
  const signed = keys.some((k) =>
    timingSafeEqual(
      createHmac('sha1', k)
        .update(body)
        .digest()
        .subarray(20 - MAC_LEN),
      given,
    ),
  );
  if (!signed) return { ok: false, code: -1 };
  const first = body[0] ?? 0;
  const v6 = (first & 0x80) !== 0;
  const id = first & 0x7f;
  const proto = id === SCTP ? 'sctp' : ID_PROTO[id];
  const len = v6 ? 16 : 4;
  if (proto === undefined || body.length !== 1 + 2 * (len + 2)) return { ok: false, code: -1 };
  const local = {
    address: ipString(body.subarray(1, 1 + len), v6),
    port: body.readUInt16BE(1 + len),
  };
  const remote = {
    address: ipString(body.subarray(3 + len, 3 + 2 * len), v6),
    port: body.readUInt16BE(3 + 2 * len),
  };
  return { ok: true, token: { proto, local, remote } };
}

/** Same IP address, whatever the notation. */
export function sameIp(a: string, b: string): boolean {
  return canonicalIp(a).toLowerCase() === canonicalIp(b).toLowerCase();
}

export { canonicalIp };
