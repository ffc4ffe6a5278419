import { BlockList, isIPv4, isIPv6 } from 'node:net';

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

/** A set of peer addresses and networks (Kamailio permissions' address table, one group). */
export class AddressSet {
  readonly specs: readonly AddressSpec[];
  /** Networks without a port restriction. */
  readonly #any = new BlockList();
  /** Port-restricted entries, by port. */
  readonly #byPort = new Map<number, BlockList>();
  #anyCount = 0;

  constructor(specs: readonly AddressSpec[]) {
    this.specs = specs;
    for (const sp of specs) {
      let list = this.#any;
      if (sp.port !== undefined) {
        list = this.#byPort.get(sp.port) ?? new BlockList();
        this.#byPort.set(sp.port, list);
      } else this.#anyCount++;
      const type = sp.family === 4 ? 'ipv4' : 'ipv6';
      list.addSubnet(sp.address, sp.prefix, type);
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
    const type = isIPv4(a) ? 'ipv4' : isIPv6(a) ? 'ipv6' : undefined;
    if (type === undefined) return false;
    if (this.#anyCount > 0 && this.#any.check(a, type)) return true;
    if (port === undefined) return false;
    return this.#byPort.get(port)?.check(a, type) ?? false;
  }
}
