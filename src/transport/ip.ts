import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP address helpers for the transport layer: byte forms for STUN and canonical text forms, so
 * that `::1`, `0:0:0:0:0:0:0:1` and `::ffff:127.0.0.1` style spellings compare as Node reports them.
 */

/** 4 or 6 for an IP literal (IPv6 without brackets, zone id allowed), 0 otherwise. */
export function ipFamily(address: string): 0 | 4 | 6 {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return 0;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), or undefined. */
export function unmapIPv4(address: string): string | undefined {
  if (address.length > 7 && address.charCodeAt(0) === 0x3a && /^::ffff:/i.test(address)) {
    const v4 = address.slice(7);
    if (isIPv4(v4)) return v4;
  }
  return undefined;
}

/** Four bytes of a dotted IPv4 address (assumed valid). */
export function ipv4ToBytes(address: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  const parts = address.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i] ?? 0) & 0xff;
  return out;
}

/** Sixteen bytes of an IPv6 address (assumed valid; a zone id is ignored). */
export function ipv6ToBytes(address: string): Buffer {
  const out = Buffer.alloc(16);
  let a = address;
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  // an embedded dotted IPv4 tail (RFC 4291 §2.2 form 3) becomes two groups
  const lastColon = a.lastIndexOf(':');
  const tail = a.slice(lastColon + 1);
  if (tail.includes('.')) {
    const b = ipv4ToBytes(tail);
    a = `${a.slice(0, lastColon + 1)}${((b[0] ?? 0) * 256 + (b[1] ?? 0)).toString(16)}:${((b[2] ?? 0) * 256 + (b[3] ?? 0)).toString(16)}`;
  }
  const dbl = a.indexOf('::');
  const head = dbl >= 0 ? a.slice(0, dbl) : a;
  const rest = dbl >= 0 ? a.slice(dbl + 2) : '';
  const hs = head.length > 0 ? head.split(':') : [];
  const rs = rest.length > 0 ? rest.split(':') : [];
  for (let i = 0; i < hs.length; i++)
    out.writeUInt16BE(Number.parseInt(hs[i] ?? '0', 16) & 0xffff, i * 2);
  for (let i = 0; i < rs.length; i++)
    out.writeUInt16BE(Number.parseInt(rs[i] ?? '0', 16) & 0xffff, 16 - (rs.length - i) * 2);
  return out;
}

/** Dotted text of four bytes. */
export function bytesToIPv4(b: Uint8Array, off = 0): string {
  return `${b[off] ?? 0}.${b[off + 1] ?? 0}.${b[off + 2] ?? 0}.${b[off + 3] ?? 0}`;
}

/**
 * RFC 5952 text of sixteen bytes: lower case, leading zeros dropped, longest zero run (≥ 2) as `::`;
 * an IPv4-mapped address as `::ffff:a.b.c.d` (RFC 5952 §5), which is also how Node reports it.
 */
export function bytesToIPv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[off + i * 2] ?? 0) << 8) | (b[off + i * 2 + 1] ?? 0));
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${bytesToIPv4(b, off + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestLen < 2) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** The canonical text of an IP literal (RFC 5952 for IPv6), or the input when it is not one. */
export function canonicalIp(address: string): string {
  if (isIPv4(address)) return address;
  if (isIPv6(address)) return bytesToIPv6(ipv6ToBytes(address));
  return address;
}

/** `ip:port`, with brackets around IPv6 (RFC 3986 §3.2.2). */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
