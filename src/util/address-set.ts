import { isIPv4, isIPv6 } from 'node:net';

/** One address or network of a peer, with an optional port (undefined: any port). */
export interface AddressSpec {
  readonly address: string;
  readonly family: 4 | 6;
  /** Prefix length; 32 / 128 for a single address. */
  readonly prefix: number;
  readonly port: number | undefined;
  /** As written. */
  readonly text: string;
}

/**
 * Parses `192.0.2.1`, `10.0.0.0/8`, `192.0.2.1:5060`, `2001:db8::1`, `[2001:db8::1]:5060`,
 * `2001:db8::/32`. A message says what is wrong otherwise.
 */
export function parseAddressSpec(
  text: string,
): { ok: true; value: AddressSpec } | { ok: false; message: string } {
  const s = text.trim();
  const bad = (why: string) => ({
    ok: false as const,
    message: `'${text}' ${why}: expected an IP address, IP/prefix or IP:port (IPv6 in brackets with a port), e.g. 10.0.0.0/8 or 192.0.2.1:5060`,
  });
  let host = s;
  let port: number | undefined;
  let prefix: number | undefined;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return bad('has no closing ]');
    host = s.slice(1, end);
    const rest = s.slice(end + 1);
    if (rest !== '') {
      if (!/^:\d{1,5}$/.test(rest)) return bad('has something after ] that is not :port');
      port = Number(rest.slice(1));
    }
  } else {
    const slash = s.indexOf('/');
    if (slash >= 0) {
      if (!/^\d{1,3}$/.test(s.slice(slash + 1))) return bad('has a prefix that is not a number');
      prefix = Number(s.slice(slash + 1));
      host = s.slice(0, slash);
    } else if (isIPv4(s.split(':')[0] ?? '') && s.includes(':')) {
      const c = s.lastIndexOf(':');
      if (!/^\d{1,5}$/.test(s.slice(c + 1))) return bad('has a port that is not a number');
      port = Number(s.slice(c + 1));
      host = s.slice(0, c);
    }
  }
  const family = isIPv4(host) ? 4 : isIPv6(host) ? 6 : 0;
  if (family === 0) return bad('is not an IP literal (host names are not resolved here)');
  if (port !== undefined && (port < 1 || port > 65_535)) return bad('has a port outside 1..65535');
  const max = family === 4 ? 32 : 128;
  if (prefix !== undefined && prefix > max) return bad(`has a prefix longer than ${max}`);
  return {
    ok: true,
    value: { address: host.toLowerCase(), family, prefix: prefix ?? max, port, text: s },
  };
}

function unmapped(ip: string): string {
  return ip.length > 7 && /^::ffff:\d/i.test(ip) ? ip.slice(7) : ip;
}

/** An IPv4 address as an unsigned 32-bit number, or -1. */
function v4(ip: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part > 255) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      part = part * 10 + (c - 0x30);
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return n * 256 + part;
}

/** An IPv6 address as 8 groups, or undefined (an embedded IPv4 tail and a zone id are handled). */
function v6(ip: string): number[] | undefined {
  let a = ip;
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  let tail: number[] = [];
  const lastColon = a.lastIndexOf(':');
  if (a.indexOf('.', lastColon) >= 0) {
    // RFC 4291 §2.2 form 3: an IPv4 dotted tail is the last two groups
    const n = v4(a.slice(lastColon + 1));
    if (n < 0) return undefined;
    tail = [n >>> 16, n & 0xffff];
    a = a.slice(0, lastColon + 1);
    if (!a.endsWith('::')) a = a.slice(0, -1);
  }
  const halves = a.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  const fill = 8 - head.length - rest.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 0) return undefined;
  return [...head, ...new Array<number>(Math.max(fill, 0)).fill(0), ...rest, ...tail];
}

interface Net4 {
  readonly net: number;
  readonly mask: number;
  readonly port: number | undefined;
}

interface Net6 {
  readonly groups: readonly number[];
  readonly prefix: number;
  readonly port: number | undefined;
}

function mask4(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function in6(addr: readonly number[], n: Net6): boolean {
  let bits = n.prefix;
  for (let i = 0; i < 8 && bits > 0; i++) {
    const take = Math.min(bits, 16);
    const m = take === 16 ? 0xffff : (0xffff << (16 - take)) & 0xffff;
    if (((addr[i] ?? 0) & m) !== ((n.groups[i] ?? 0) & m)) return false;
    bits -= take;
  }
  return true;
}

/**
 * A set of peer addresses and networks (Kamailio permissions' address table, one group). Matching
 * is arithmetic on the parsed address: it runs for every request of the edge script, so it must
 * cost tens of nanoseconds, not the microseconds of a native BlockList lookup.
 */
export class AddressSet {
  readonly specs: readonly AddressSpec[];
  readonly #v4: Net4[] = [];
  readonly #v6: Net6[] = [];

  constructor(specs: readonly AddressSpec[]) {
    this.specs = specs;
    for (const sp of specs) {
      if (sp.family === 4) {
        const m = mask4(sp.prefix);
        this.#v4.push({ net: (v4(sp.address) & m) >>> 0, mask: m, port: sp.port });
      } else {
        const g = v6(sp.address);
        if (g !== undefined) this.#v6.push({ groups: g, prefix: sp.prefix, port: sp.port });
      }
    }
  }

  /** Parses every spec; throws with the first bad one. */
  static of(texts: readonly string[]): AddressSet {
    const out: AddressSpec[] = [];
    for (const t of texts) {
      const r = parseAddressSpec(t);
      if (!r.ok) throw new Error(r.message);
      out.push(r.value);
    }
    return new AddressSet(out);
  }

  get size(): number {
    return this.specs.length;
  }

  /** The source `ip` (and `port`) is in the set. */
  has(ip: string, port?: number): boolean {
    if (this.specs.length === 0) return false;
    const a = unmapped(ip);
    if (this.#v4.length > 0) {
      const n = v4(a);
      if (n >= 0) {
        for (const e of this.#v4)
          if ((n & e.mask) >>> 0 === e.net && (e.port === undefined || e.port === port))
            return true;
        return false;
      }
    }
    if (this.#v6.length === 0 || !a.includes(':')) return false;
    const g = v6(a);
    if (g === undefined) return false;
    for (const e of this.#v6)
      if (in6(g, e) && (e.port === undefined || e.port === port)) return true;
    return false;
  }
}
