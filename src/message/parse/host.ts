// Hosts of SIP URIs and Via sent-by (RFC 3261 §25.1 host, RFC 5118 IPv6 references), checked in
// place over the message's bytes: the URI parser (uri.ts) and the Via parser (via.ts) share them.
import { bytesOf, HEX, isLws } from './chars.js';

/** True when b[x, y) is a dotted-quad IPv4address with each part 0..255. */
export function ipv4At(b: Uint8Array, x: number, y: number): boolean {
  let parts = 0;
  let i = x;
  while (i <= y) {
    const ds = i;
    let v = 0;
    while (i < y && ((b[i] ?? 0) - 0x30) >>> 0 < 10) {
      v = v * 10 + (b[i] ?? 0) - 0x30;
      i++;
    }
    if (i === ds || i - ds > 3 || v > 255) return false;
    parts++;
    if (i === y) return parts === 4;
    if (b[i] !== 0x2e || parts === 4) return false;
    i++;
  }
  return false;
}

/** True when b[x, y) is an IPv6address (RFC 4291 §2.2 text form, optional IPv4 tail), no brackets. */
export function ipv6At(b: Uint8Array, x: number, y: number): boolean {
  let i = x;
  let groups = 0;
  let dbl = false;
  if (i >= y) return false;
  if (b[i] === 0x3a) {
    if (b[i + 1] !== 0x3a) return false;
    dbl = true;
    i += 2;
    if (i === y) return true;
  }
  while (i < y) {
    const gs = i;
    while (i < y && HEX[b[i] ?? 0] === 1) i++;
    if (i < y && b[i] === 0x2e) {
      // an IPv4 tail takes the place of the last two groups
      if (!ipv4At(b, gs, y)) return false;
      groups += 2;
      break;
    }
    const len = i - gs;
    if (len === 0 || len > 4) return false;
    groups++;
    if (i === y) break;
    if (b[i] !== 0x3a) return false;
    i++;
    if (i < y && b[i] === 0x3a) {
      if (dbl) return false;
      dbl = true;
      i++;
    } else if (i === y) return false;
  }
  return dbl ? groups <= 7 : groups === 8;
}

/** A letter, digit or '-' (hostname label bytes). */
function isAlnumDash(c: number): boolean {
  return ((c | 0x20) - 0x61) >>> 0 < 26 || (c - 0x30) >>> 0 < 10 || c === 0x2d;
}

/** True when b[x, y) is a host: hostname / IPv4address / IPv6reference (RFC 3261 §25.1, RFC 5118). */
export function hostAt(b: Uint8Array, x: number, y: number): boolean {
  if (y - x >= 2 && b[x] === 0x5b) return b[y - 1] === 0x5d && ipv6At(b, x + 1, y - 1);
  // a hostname or IPv4address that ends exactly at y (':' ';' '?' inside end it early: not a host)
  return hostnameEnd(b, x, y, false) === y;
}

/**
 * Reads a hostname or IPv4address from b[i] up to `y` or the first byte that ends a host. A
 * hostname (RFC 3261 §25.1) is labels of alphanumerics and inner `-`, with an optional trailing
 * dot; a name whose last label is numeric must be a valid IPv4 address (so `192.0.2.256` is
 * refused), while other labels may start with a digit. The IPv4 rules (four labels of 1 to 3
 * digits, each at most 255) are followed along in the same pass. What ends a host: ':' ';' and
 * '?' in a SIP URI, ':' ';' ',' and LWS in a Via sent-by (`via`). Returns where it ends, or -1 when
 * it is empty or not a valid host. (An IPv6 reference is the caller's case.)
 */
export function hostnameEnd(b: Uint8Array, i: number, y: number, via: boolean): number {
  const x = i;
  let labelStart = i;
  let allDigits = true;
  let value = 0;
  let v4 = true;
  let labels = 0;
  let topDigits = false;
  for (; i < y; i++) {
    const c = b[i] ?? 0;
    if (c === 0x3a || c === 0x3b || (via ? c === 0x2c || isLws(c) : c === 0x3f)) break;
    if (c === 0x2e) {
      if (i === labelStart || b[labelStart] === 0x2d || b[i - 1] === 0x2d) return -1;
      if (!allDigits || i - labelStart > 3 || value > 255) v4 = false;
      labels++;
      topDigits = allDigits;
      labelStart = i + 1;
      allDigits = true;
      value = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + c - 0x30;
    } else {
      allDigits = false;
      if (!isAlnumDash(c)) return -1;
    }
  }
  if (i === x) return -1;
  if (labelStart < i) {
    // the last label (not followed by a dot)
    if (b[labelStart] === 0x2d || b[i - 1] === 0x2d) return -1;
    if (!allDigits || i - labelStart > 3 || value > 255) v4 = false;
    labels++;
    topDigits = allDigits;
  } else if (i - x === 1) return -1;
  // else one trailing dot: the label before it is the top label
  // a numeric top label makes the name an IPv4 address
  return topDigits && !(v4 && labels === 4) ? -1 : i;
}

/** RFC 3261 §25.1 host = hostname / IPv4address / IPv6reference. */
export function isValidHost(h: string): boolean {
  return hostAt(bytesOf(h), 0, h.length);
}

/** True when `s` is a dotted-quad IPv4 address. */
export function isIpv4(s: string): boolean {
  return ipv4At(bytesOf(s), 0, s.length);
}

/** True when `s` is an IPv6 address (no brackets). */
export function isIpv6(s: string): boolean {
  return ipv6At(bytesOf(s), 0, s.length);
}
