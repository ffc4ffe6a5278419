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
 * DNS (synchronously). Results of name lookups are cached for `ttlMs`.
 */
export class Resolver {
  readonly #dns: DnsApi;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { at: number; hops: NextHop[] }>();

  constructor(dns: DnsApi = nodeDns, ttlMs = 30_000) {
    this.#dns = dns;
    this.#ttlMs = ttlMs;
  }

  /** Resolves without DNS when the target host is an IP address; undefined otherwise. */
  resolveNumeric(uri: SipUri): NextHop | undefined {
    const host = targetHost(uri);
    if (isIP(host) === 0) return undefined;
    const proto = uriProto(uri) ?? (uri.scheme === 'sips' ? Proto.TLS : Proto.UDP);
    return { proto, address: host, port: uri.port ?? defaultPort(proto) };
  }

  /** All next hops for a URI, best first (RFC 3263 §4.1–4.2). Rejects when nothing resolves. */
  async resolve(uri: SipUri): Promise<NextHop[]> {
    const numeric = this.resolveNumeric(uri);
    if (numeric !== undefined) return [numeric];
    const host = targetHost(uri);
    // RFC 6761 §6.3: localhost names are the loopback address, never a DNS question
    if (/(?:^|\.)localhost\.?$/i.test(host)) {
      const proto = uriProto(uri) ?? (uri.scheme === 'sips' ? Proto.TLS : Proto.UDP);
      return [{ proto, address: '127.0.0.1', port: uri.port ?? defaultPort(proto) }];
    }
    const why = unresolvable(host);
    if (why !== undefined) throw new Error(`cannot resolve ${host}: ${why} (no DNS query made)`);
    const key = `${uri.scheme}|${host}|${uri.port ?? ''}|${uri.transport ?? ''}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && Date.now() - cached.at < this.#ttlMs) return cached.hops;
    const hops = await this.#lookup(uri, host);
    if (hops.length === 0) throw new Error(`cannot resolve ${host}`);
    this.#cache.set(key, { at: Date.now(), hops });
    return hops;
  }

  async #lookup(uri: SipUri, host: string): Promise<NextHop[]> {
    const secure = uri.scheme === 'sips';
    let proto = uriProto(uri);
    // RFC 3263 §4.2: an explicit port means A/AAAA only
    if (uri.port !== undefined) {
      const p = proto ?? (secure ? Proto.TLS : Proto.UDP);
      return this.#addresses(host, p, uri.port);
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
      // RFC 2782 order: priority ascending, then weight descending (deterministic; no random pick)
      srv.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
      const out: NextHop[] = [];
      for (const r of srv) out.push(...(await this.#addresses(r.name, s.proto, r.port)));
      if (out.length > 0) return out;
    }
    // RFC 3263 §4.2: no SRV -> A/AAAA on the default port
    proto ??= secure ? Proto.TLS : Proto.UDP;
    return this.#addresses(host, proto, defaultPort(proto));
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
