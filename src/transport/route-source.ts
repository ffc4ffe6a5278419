import { createSocket } from 'node:dgram';
import { canonicalIp, ipFamily, ipv4ToBytes, ipv6ToBytes, unmapIPv4 } from './ip.js';
import { isWildcard } from './tcp.js';
import type { ListenerInfo } from './types.js';

/**
 * Which listener a message to an address leaves from, when an element has several of the same
 * transport and family (a public face with `advertise` and a private one towards the registrar,
 * two private networks, two uplinks). The listener decides the source address and what goes into
 * Via, Record-Route and Path, so a wrong pick sends the private registrar a public name it may not
 * reach. The order of the listeners in the configuration does not decide it; the rule is:
 *
 * 1. the address class: towards a private destination (RFC 1918, 100.64/10, loopback, link-local,
 *    fc00::/7, fe80::/10) a listener that faces the private side, towards a public destination one
 *    that faces the public side. A listener faces the public side when it has `advertise` (a name,
 *    or a public IP) or is bound to a public IP; a wildcard listener (0.0.0.0, ::) without
 *    `advertise` faces both;
 * 2. among those, the listener bound to the address the kernel uses as source towards the
 *    destination (Kamailio `mhomed=1`: a connected UDP socket's local address is the route's source
 *    address; learned once per destination and cached for a minute). Towards a loopback
 *    destination, a listener on a loopback address;
 * 3. then the configuration order.
 */

/** True for addresses routed on the public Internet (every IP that is not in a private, loopback, link-local or unspecified range). */
export function isPublicIp(address: string): boolean {
  const a = unmapIPv4(address) ?? address;
  const fam = ipFamily(a);
  if (fam === 4) {
    const b = ipv4ToBytes(a);
    const [o0 = 0, o1 = 0] = b;
    if (o0 === 0 || o0 === 10 || o0 === 127) return false;
    if (o0 === 100 && o1 >= 64 && o1 < 128) return false; // RFC 6598 shared address space
    if (o0 === 169 && o1 === 254) return false;
    if (o0 === 172 && o1 >= 16 && o1 < 32) return false;
    if (o0 === 192 && o1 === 168) return false;
    return true;
  }
  if (fam === 6) {
    const b = ipv6ToBytes(a);
    if (b.every((x, i) => x === 0 || (i === 15 && x === 1))) return false; // :: and ::1
    const [b0 = 0, b1 = 0] = b;
    if ((b0 & 0xfe) === 0xfc) return false; // fc00::/7 unique local
    if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return false; // fe80::/10 link-local
    return true;
  }
  return false;
}

/** True for 127.0.0.0/8 and ::1 (IPv4-mapped included). */
export function isLoopbackIp(address: string): boolean {
  const a = unmapIPv4(address) ?? address;
  const fam = ipFamily(a);
  if (fam === 4) return a.startsWith('127.');
  return fam === 6 && canonicalIp(a) === '::1';
}

/** Which side a listener faces: true public, false private, undefined both (a wildcard without advertise). */
export function facesPublic(l: ListenerInfo): boolean | undefined {
  if (l.advertise !== undefined) {
    const h = l.advertise.host.replace(/^\[|\]$/g, '');
    return ipFamily(h) === 0 ? true : isPublicIp(h);
  }
  if (isWildcard(l.address)) return undefined;
  return isPublicIp(l.address);
}

/** How well the address class of a listener fits a destination: 2 fits, 1 either way, 0 does not. */
export function classScore(l: ListenerInfo, dest: string): number {
  const face = facesPublic(l);
  if (face === undefined) return 1;
  return face === isPublicIp(dest) ? 2 : 0;
}

/**
 * Picks the listener to send from towards `dest` among `candidates` (already of the right transport
 * and family, in configuration order), by the rule above. `source` is the kernel's source address
 * towards `dest` when known.
 */
export function pickListener<T extends ListenerInfo>(
  candidates: readonly T[],
  dest: string,
  source: string | undefined,
): T | undefined {
  if (candidates.length <= 1) return candidates[0];
  const loop = isLoopbackIp(dest);
  let best: T | undefined;
  let bestScore = -1;
  for (const l of candidates) {
    let route = 0;
    if (loop) route = isLoopbackIp(l.address) ? 1 : 0;
    else if (source !== undefined && canonicalIp(l.address) === source) route = 1;
    const score = classScore(l, dest) * 2 + route;
    if (score > bestScore) {
      best = l;
      bestScore = score;
    }
  }
  return best;
}

/**
 * True when the kernel's source address could change the pick: several candidates share the best
 * address class and the destination is not loopback.
 */
export function routeMatters(candidates: readonly ListenerInfo[], dest: string): boolean {
  if (candidates.length <= 1 || isLoopbackIp(dest)) return false;
  let top = -1;
  let n = 0;
  for (const l of candidates) {
    const s = classScore(l, dest);
    if (s > top) {
      top = s;
      n = 1;
    } else if (s === top) n++;
  }
  return n > 1;
}

/** How long a learned source address is used before it is asked again (routes change). */
export const ROUTE_TTL_MS = 60_000;
/** Entries kept; beyond, the cache starts again (it only ever holds next hops, not clients). */
const ROUTE_CACHE_MAX = 4096;

/** Asks the kernel for its source address towards `dest` (no packet is sent). */
export type RouteProbe = (dest: string) => Promise<string | undefined>;

/**
 * A connected UDP socket learns the route without sending anything: its local address is the
 * source address the kernel picks for the destination. Undefined when there is no route.
 */
export const kernelRouteProbe: RouteProbe = (dest) =>
  new Promise((resolve) => {
    const fam = ipFamily(dest);
    if (fam === 0) {
      resolve(undefined);
      return;
    }
    const s = createSocket(fam === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (v: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      try {
        s.close();
      } catch {
        // already closed
      }
      resolve(v);
    };
    const t = setTimeout(() => finish(undefined), 1000);
    t.unref();
    s.on('error', () => finish(undefined));
    try {
      // port 9 (discard): connect() on UDP only selects the route
      s.connect(9, dest, () => {
        try {
          finish(canonicalIp(s.address().address));
        } catch {
          finish(undefined);
        }
      });
    } catch {
      finish(undefined);
    }
  });

/** Source addresses learned per destination, with a time to live. */
export class RouteCache {
  readonly #probe: RouteProbe;
  readonly #now: () => number;
  readonly #known = new Map<string, { source: string | undefined; at: number }>();
  readonly #pending = new Map<string, Promise<void>>();
  readonly #onLearn: (() => void) | undefined;

  /** `onLearn` is called whenever an answer is stored (choices made without it are out of date). */
  constructor(
    probe: RouteProbe = kernelRouteProbe,
    now: () => number = Date.now,
    onLearn?: () => void,
  ) {
    this.#probe = probe;
    this.#now = now;
    this.#onLearn = onLearn;
  }

  /** The learned source towards `dest` (undefined: unknown or no route). */
  source(dest: string): string | undefined {
    return this.#known.get(dest)?.source;
  }

  /**
   * Learns the source towards `dest` when it is not known yet: the promise to wait for; undefined
   * when it is known (a stale entry is used and refreshed in the background).
   */
  learn(dest: string): Promise<void> | undefined {
    const k = this.#known.get(dest);
    if (k !== undefined) {
      if (this.#now() - k.at > ROUTE_TTL_MS) void this.#ask(dest);
      return undefined;
    }
    return this.#ask(dest);
  }

  #ask(dest: string): Promise<void> {
    let p = this.#pending.get(dest);
    if (p !== undefined) return p;
    p = this.#probe(dest).then(
      (source) => this.#store(dest, source),
      () => this.#store(dest, undefined),
    );
    this.#pending.set(dest, p);
    return p;
  }

  #store(dest: string, source: string | undefined): void {
    this.#pending.delete(dest);
    if (this.#known.size >= ROUTE_CACHE_MAX) this.#known.clear();
    this.#known.set(dest, { source, at: this.#now() });
    this.#onLearn?.();
  }
}
