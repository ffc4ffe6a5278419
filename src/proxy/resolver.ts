import { promises as nodeDns } from 'node:dns';
import { isIP } from 'node:net';
import type { SipUri } from '../message/parse/uri.js';
import { Proto, protoFromToken } from '../transport/types.js';

/** A resolved next hop. */
export interface NextHop {
  readonly proto: Proto;
  readonly address: string;
  readonly port: number;
}

/**
 * The addresses of one SRV record (RFC 2782), or of the A/AAAA lookup when there was no SRV
 * record (priority 0, weight 0): the unit RFC 2782 orders by priority and weight. The addresses
 * of one record stay in the order DNS gave them.
 */
export interface HopGroup {
  readonly priority: number;
  readonly weight: number;
  /** The SRV target (or the host looked up), for logs. */
  readonly target: string;
  readonly hops: readonly NextHop[];
}

/** A number in [0, 1), as `Math.random` returns (injectable for tests). */
export type RandomSource = () => number;

/**
 * RFC 2782 order: ascending priority; within one priority, weighted random order ("all those with
 * weight 0 are placed at the beginning of the list … choose a uniform random number between 0 and
 * the sum … select the RR whose running sum value is the first … greater than or equal to" it),
 * repeated until every record of the priority is placed.
 */
export function rfc2782Order<T extends { readonly priority: number; readonly weight: number }>(
  records: readonly T[],
  random: RandomSource = Math.random,
): T[] {
  const out: T[] = [];
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  for (const p of priorities) {
    const same = records.filter((r) => r.priority === p);
    // zero weights first, the others in the order given (a stable sort keeps DNS order)
    const left = [...same.filter((r) => r.weight === 0), ...same.filter((r) => r.weight > 0)];
    while (left.length > 0) {
      let sum = 0;
      for (const r of left) sum += Math.max(0, r.weight);
      const pick = Math.min(sum, Math.floor(random() * (sum + 1)));
      let running = 0;
      let i = 0;
      for (; i < left.length - 1; i++) {
        running += Math.max(0, (left[i] as T).weight);
        if (running >= pick) break;
      }
      out.push(left.splice(i, 1)[0] as T);
    }
  }
  return out;
}

/** The subset of `node:dns/promises` the resolver uses, injectable for tests. */
export interface DnsApi {
  resolveNaptr(host: string): Promise<
    {
      flags: string;
      service: string;
      regexp: string;
      replacement: string;
      order: number;
      preference: number;
    }[]
  >;
  resolveSrv(
    name: string,
  ): Promise<{ priority: number; weight: number; port: number; name: string }[]>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

const NAPTR_SERVICES: Record<string, Proto> = {
  'SIP+D2U': Proto.UDP,
  'SIP+D2T': Proto.TCP,
  'SIPS+D2T': Proto.TLS,
  'SIP+D2W': Proto.WS,
  'SIPS+D2W': Proto.WSS,
};

function defaultPort(p: Proto): number {
  return p === Proto.TLS || p === Proto.WSS ? 5061 : 5060;
}

/**
 * Next-hop resolution for SIP URIs (RFC 3263 §4): transport from the `transport` parameter, the
 * scheme, or NAPTR; port from the URI or SRV; address from A/AAAA. Numeric hosts resolve without
 * DNS (synchronously). The records of name lookups are cached for `ttlMs`; the order of the hops
 * is drawn again on every {@link resolve} (RFC 2782 weighted random order within a priority), so
 * that the weights share the load between the targets of one priority.
 */
export class Resolver {
  readonly #dns: DnsApi;
  readonly #ttlMs: number;
  readonly #random: RandomSource;
  readonly #cache = new Map<string, { at: number; groups: HopGroup[] }>();

  /**
   * @param ttlMs how long the records of a name are reused (node:dns gives SRV records no TTL)
   * @param random the random source of RFC 2782 weighted ordering (tests pass a fixed sequence)
   */
  constructor(dns: DnsApi = nodeDns, ttlMs = 30_000, random: RandomSource = Math.random) {
    this.#dns = dns;
    this.#ttlMs = ttlMs;
    this.#random = random;
  }

  /** The random source of weighted ordering (a set of hops of its own orders with it too). */
  get random(): RandomSource {
    return this.#random;
  }

  /** How long resolved records are reused, in ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** RFC 2782 order of `groups` with this resolver's random source, flattened to hops. */
  order(groups: readonly HopGroup[]): NextHop[] {
    const out: NextHop[] = [];
    for (const g of rfc2782Order(groups, this.#random)) out.push(...g.hops);
    return out;
  }

  /** Resolves without DNS when the target host is an IP address; undefined otherwise. */
  resolveNumeric(uri: SipUri): NextHop | undefined {
    const host = targetHost(uri);
    if (isIP(host) === 0) return undefined;
    const proto = uriProto(uri) ?? (uri.scheme === 'sips' ? Proto.TLS : Proto.UDP);
    return { proto, address: host, port: uri.port ?? defaultPort(proto) };
  }

  /**
   * All next hops for a URI, best first (RFC 3263 §4.1–4.2; RFC 2782 order, drawn anew on each
   * call). Rejects when nothing resolves.
   */
  async resolve(uri: SipUri): Promise<NextHop[]> {
    return this.order(await this.resolveGroups(uri));
  }

  /**
   * The records behind {@link resolve}: one group per SRV record (its priority, weight and
   * addresses), sorted by priority, or one group for an A/AAAA answer. Cached for `ttlMs`.
   */
  async resolveGroups(uri: SipUri): Promise<HopGroup[]> {
    const numeric = this.resolveNumeric(uri);
    if (numeric !== undefined)
      return [{ priority: 0, weight: 0, target: numeric.address, hops: [numeric] }];
    const host = targetHost(uri);
    // RFC 6761 §6.3: localhost names are the loopback address, never a DNS question
    if (/(?:^|\.)localhost\.?$/i.test(host)) {
      const proto = uriProto(uri) ?? (uri.scheme === 'sips' ? Proto.TLS : Proto.UDP);
      const hop = { proto, address: '127.0.0.1', port: uri.port ?? defaultPort(proto) };
      return [{ priority: 0, weight: 0, target: host, hops: [hop] }];
    }
    const why = unresolvable(host);
    if (why !== undefined) throw new Error(`cannot resolve ${host}: ${why} (no DNS query made)`);
    const key = `${uri.scheme}|${host}|${uri.port ?? ''}|${uri.transport ?? ''}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && Date.now() - cached.at < this.#ttlMs) return cached.groups;
    const groups = await this.#lookup(uri, host);
    if (groups.every((g) => g.hops.length === 0)) throw new Error(`cannot resolve ${host}`);
    this.#cache.set(key, { at: Date.now(), groups });
    return groups;
  }

  async #lookup(uri: SipUri, host: string): Promise<HopGroup[]> {
    const secure = uri.scheme === 'sips';
    let proto = uriProto(uri);
    const plain = async (p: Proto, port: number): Promise<HopGroup[]> => [
      { priority: 0, weight: 0, target: host, hops: await this.#addresses(host, p, port) },
    ];
    // RFC 3263 §4.2: an explicit port means A/AAAA only
    if (uri.port !== undefined) {
      const p = proto ?? (secure ? Proto.TLS : Proto.UDP);
      return plain(p, uri.port);
    }
    // RFC 3263 §4.1: NAPTR when no transport is given
    const srvNames: { name: string; proto: Proto }[] = [];
    if (proto === undefined) {
      const naptr = await this.#dns.resolveNaptr(host).catch(() => []);
      const usable = naptr
        .filter(
          (r) =>
            r.flags.toLowerCase() === 's' && NAPTR_SERVICES[r.service.toUpperCase()] !== undefined,
        )
        .filter((r) => !secure || r.service.toUpperCase().startsWith('SIPS'))
        .sort((a, b) => a.order - b.order || a.preference - b.preference);
      for (const r of usable)
        srvNames.push({
          name: r.replacement,
          proto: NAPTR_SERVICES[r.service.toUpperCase()] as Proto,
        });
      if (srvNames.length === 0) {
        if (secure) srvNames.push({ name: `_sips._tcp.${host}`, proto: Proto.TLS });
        else
          srvNames.push(
            { name: `_sip._udp.${host}`, proto: Proto.UDP },
            { name: `_sip._tcp.${host}`, proto: Proto.TCP },
            { name: `_sips._tcp.${host}`, proto: Proto.TLS },
          );
      }
    } else {
      const svc = proto === Proto.TLS || proto === Proto.WSS ? '_sips' : '_sip';
      const tp = proto === Proto.UDP ? '_udp' : '_tcp';
      srvNames.push({ name: `${svc}.${tp}.${host}`, proto });
    }
    for (const s of srvNames) {
      const srv = await this.#dns.resolveSrv(s.name).catch(() => []);
      if (srv.length === 0) continue;
      // RFC 2782: priority ascending here; the weighted order within a priority is drawn per use
      srv.sort((a, b) => a.priority - b.priority);
      const out: HopGroup[] = [];
      for (const r of srv) {
        const hops = await this.#addresses(r.name, s.proto, r.port);
        if (hops.length > 0)
          out.push({ priority: r.priority, weight: r.weight, target: r.name, hops });
      }
      if (out.length > 0) return out;
    }
    // RFC 3263 §4.2: no SRV -> A/AAAA on the default port
    proto ??= secure ? Proto.TLS : Proto.UDP;
    return plain(proto, defaultPort(proto));
  }

  async #addresses(host: string, proto: Proto, port: number): Promise<NextHop[]> {
    if (isIP(host) !== 0) return [{ proto, address: host, port }];
    const v4 = await this.#dns.resolve4(host).catch(() => [] as string[]);
    const v6 = v4.length > 0 ? [] : await this.#dns.resolve6(host).catch(() => [] as string[]);
    return [...v4, ...v6].map((address) => ({ proto, address, port }));
  }
}

/** The host to resolve: `maddr` wins over the host part (RFC 3261 §19.1.1). */
function targetHost(uri: SipUri): string {
  const maddr = uri.params.get('maddr');
  const h = typeof maddr === 'string' && maddr.length > 0 ? maddr : uri.host;
  return h.charCodeAt(0) === 0x5b ? h.slice(1, -1) : h;
}

function uriProto(uri: SipUri): Proto | undefined {
  const t = uri.transport;
  if (t === undefined) return undefined;
  const p = protoFromToken(t);
  if (p === Proto.WS && uri.scheme === 'sips') return Proto.WSS;
  return p ?? undefined;
}

/** RFC 6761 §6.4: names under `invalid` never resolve; RFC 6762 `.local` is mDNS; RFC 7686 `.onion`. */
const NEVER = /(?:^|\.)(?:invalid|local|onion)\.?$/i;
/** A host name of letters, digits and hyphens in labels of 1..63 (RFC 1123 §2.1), at most 253. */
const HOSTNAME =
  /^(?=.{1,253}\.?$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * Why `host` is never looked up in DNS, or undefined: a special-use name that cannot resolve
 * (RFC 6761 `.invalid`, as SIP.js writes in its Contact; mDNS `.local`; `.onion`), a single label
 * (search lists would send it off the machine), or not a host name at all. A request to such a
 * UA fails at once instead of leaking a query.
 */
export function unresolvable(host: string): string | undefined {
  if (NEVER.test(host)) return 'a special-use name (RFC 6761) that never resolves';
  if (!HOSTNAME.test(host)) return 'not a host name';
  if (!host.replace(/\.$/, '').includes('.')) return 'a single-label name';
  return undefined;
}
