import { randomBytes } from 'node:crypto';
import type { SipRequest, SipResponse } from '../message/message.js';
import { parseUri, SipUri } from '../message/parse/uri.js';
import type { TransactionLayer } from '../transaction/layer.js';
import { TxFailure } from '../transaction/types.js';
import { viaTransport } from '../transport/types.js';
import type { Clock, Timer } from '../util/clock.js';
import { fnv1aMix } from '../util/hash.js';
import type { Logger } from '../util/logger.js';
import { sentBy } from './forward.js';
import {
  type HopGroup,
  type NextHop,
  type RandomSource,
  type Resolver,
  rfc2782Order,
} from './resolver.js';
import type { NextHopOutcome, NextHopSet, ProxyTransport } from './types.js';

/** How a {@link DestinationSet} picks the destination of a request (Kamailio dispatcher algorithms). */
export const SelectPolicy = {
  /**
   * The first destination that is up, in the order configured (list order, then SRV priority with
   * RFC 2782 weighted order within one priority): one active registrar, the others standing by
   * (dispatcher algorithm 8; RFC 3263 for a DNS name).
   */
  Priority: 'priority',
  /** Every destination that is up in turn (dispatcher algorithm 4): load shared; needs a shared location store. */
  RoundRobin: 'round_robin',
  /**
   * By a hash of the AoR (REGISTER: the To URI; other requests: the Request-URI), rendezvous
   * hashing over the destinations that are up: one AoR's REGISTERs and the requests to it go to
   * the same registrar, so registrars with a location store each of their own work; when one goes
   * down only its AoRs move (dispatcher algorithms 1–3, without their reshuffle on a change).
   */
  Hash: 'hash',
} as const;
export type SelectPolicy = (typeof SelectPolicy)[keyof typeof SelectPolicy];

/** State of one destination. */
export const DestinationState = {
  /** Answering (or not probed yet): requests go to it. */
  Up: 'up',
  /** `threshold` probes or requests in a row failed: skipped until a probe is answered again. */
  Down: 'down',
} as const;
export type DestinationState = (typeof DestinationState)[keyof typeof DestinationState];

/** Settings of a {@link DestinationSet}. */
export interface DestinationSetOptions {
  /** What the destinations are, in logs and metrics (`registrar`). */
  readonly name: string;
  /** SIP URIs in priority order: numeric addresses, or names resolved per RFC 3263. */
  readonly uris: readonly string[];
  readonly policy: SelectPolicy;
  /** Seconds between OPTIONS probes of every destination; 0: no probing (and no down state). */
  readonly probeInterval: number;
  /** Failed probes or requests in a row that take a destination down (Kamailio `ds_probing_threshold`). */
  readonly probeThreshold: number;
  /**
   * ms a request waits for any response from one destination before it goes to the next one
   * (while there is a next one); also how long a probe waits for its answer.
   */
  readonly timeoutMs: number;
  /** From URI of the probes (Kamailio `ds_ping_from`). */
  readonly probeFrom?: string | undefined;
}

/** What a destination set works with: the element's layers below the proxy core. */
export interface DestinationSetDeps {
  readonly layer: TransactionLayer;
  readonly transport: ProxyTransport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly resolver: Resolver;
  /** RFC 2782 weighted order; default: the resolver's random source (tests fix it there). */
  readonly random?: RandomSource | undefined;
}

/** One destination as management shows it (`flowgate ctl registrars`, `/v1/registrars`). */
export interface DestinationView {
  /** `sip:address:port;transport=…` (the configured URI when it named this address). */
  readonly uri: string;
  /** The configured entry it came from (a DNS name resolves to several destinations). */
  readonly source: string;
  readonly transport: string;
  readonly address: string;
  readonly port: number;
  readonly state: DestinationState;
  /** Wall-clock ms of the last change of state (or of the start). */
  readonly since: number;
  /** Wall-clock ms of the last probe answered or given up, or undefined before the first. */
  readonly lastProbe: number | undefined;
  /** Outcome of the last probe: the status, `timeout` or `transport error`. */
  readonly lastResult: string | undefined;
  /** Failed probes and requests in a row. */
  readonly failures: number;
  /** Requests that gave up on this destination and went to the next one. */
  readonly failovers: number;
}

/** One configured entry of the set: a URI, parsed, and its place in the list. */
interface Entry {
  readonly uri: string;
  readonly parsed: SipUri;
  readonly index: number;
}

interface Member {
  readonly key: string;
  uri: string;
  source: string;
  readonly hop: NextHop;
  /** List position × 65536 + SRV priority: RFC 2782 order across the configured list. */
  priority: number;
  weight: number;
  /** Members of one SRV target (or one configured entry) share a group. */
  group: string;
  state: DestinationState;
  since: number;
  lastProbe: number | undefined;
  lastResult: string | undefined;
  failures: number;
  failovers: number;
  probing: boolean;
}

function hopKey(h: NextHop): string {
  return `${h.proto}:${h.address.includes(':') ? `[${h.address}]` : h.address}:${h.port}`;
}

function hopUri(h: NextHop): string {
  const host = h.address.includes(':') ? `[${h.address}]` : h.address;
  return `sip:${host}:${h.port}${h.proto === 'udp' ? '' : `;transport=${h.proto}`}`;
}

/** The AoR a request is about, for {@link SelectPolicy.Hash}: `user@host` of To (REGISTER) or of the Request-URI. */
export function aorOf(req: SipRequest, ruri: string): string | undefined {
  let uri: unknown;
  if (req.method === 'REGISTER') uri = req.to?.uri;
  else {
    const r = parseUri(ruri);
    uri = r.ok ? r.value : undefined;
  }
  if (!(uri instanceof SipUri)) return undefined;
  return `${uri.user ?? ''}@${uri.hostname}`;
}

/**
 * A set of destinations with failover (Kamailio `dispatcher`; RFC 3263 §4.3 for a DNS name): the
 * registrars of an edge. Each request gets an ordered list of the destinations that are up
 * ({@link plan}); the proxy core sends it to the first and, on a transport error, a 503, or no
 * response within `timeoutMs`, to the next one, in the same transaction. Destinations are probed
 * with OPTIONS every `probeInterval` seconds; `probeThreshold` failures in a row (failed probes,
 * requests without any answer or with a transport error) take one down, one answered probe
 * brings it back. One log line per
 * change of state. Names are resolved again when their records are older than the resolver's TTL.
 */
export class DestinationSet implements NextHopSet {
  readonly name: string;
  readonly policy: SelectPolicy;
  readonly timeoutMs: number;
  readonly #opts: DestinationSetOptions;
  readonly #deps: DestinationSetDeps;
  readonly #random: RandomSource;
  /** Configured entries: numeric ones resolved at once, names on {@link start} and per TTL. */
  readonly #entries: Entry[] = [];
  #members: Member[] = [];
  #rr = 0;
  #timer: Timer | undefined;
  #resolvedAt = Number.NEGATIVE_INFINITY;
  #resolving: Promise<void> | undefined;
  #closed = false;
  readonly #hasNames: boolean;
  #seq = 0;
  readonly #callPrefix = randomBytes(4).toString('hex');
  /** Names that did not resolve last time (one log line when that changes). */
  readonly #unresolved = new Set<string>();

  /** @throws Error when an entry is not a SIP URI. */
  constructor(opts: DestinationSetOptions, deps: DestinationSetDeps) {
    this.name = opts.name;
    this.policy = opts.policy;
    this.timeoutMs = opts.timeoutMs;
    this.#opts = opts;
    this.#deps = deps;
    this.#random = deps.random ?? deps.resolver.random;
    const now = deps.clock.wallNow();
    const members: Member[] = [];
    opts.uris.forEach((text, index) => {
      const r = parseUri(text);
      if (!r.ok || !(r.value instanceof SipUri))
        throw new Error(`${opts.name}: not a SIP URI: ${text}`);
      const parsed = r.value;
      this.#entries.push({ uri: text, parsed, index });
      const n = deps.resolver.resolveNumeric(parsed);
      if (n !== undefined) members.push(this.#member(n, text, text, index, 0, 0, `${index}`, now));
    });
    this.#members = members;
    this.#hasNames = this.#entries.some(
      (e) => deps.resolver.resolveNumeric(e.parsed) === undefined,
    );
  }

  #member(
    hop: NextHop,
    uri: string,
    source: string,
    index: number,
    srvPriority: number,
    weight: number,
    group: string,
    now: number,
  ): Member {
    const key = hopKey(hop);
    const priority = index * 65_536 + srvPriority;
    // a destination DNS gives again keeps its object: its state, and a probe in flight for it
    const old = this.#members.find((m) => m.key === key);
    if (old !== undefined) {
      old.uri = uri;
      old.source = source;
      old.priority = priority;
      old.weight = weight;
      old.group = group;
      return old;
    }
    return {
      key,
      uri,
      source,
      hop,
      priority,
      weight,
      group,
      state: DestinationState.Up,
      since: now,
      lastProbe: undefined,
      lastResult: undefined,
      failures: 0,
      failovers: 0,
      probing: false,
    };
  }

  /** True when some entry is a name (its addresses come from DNS). */
  get hasNames(): boolean {
    return this.#hasNames;
  }

  /** Resolves the names, then probes every `probeInterval` seconds (nothing to do when 0 and all numeric). */
  start(): void {
    if (this.#closed) return;
    this.refresh().catch(() => {});
    this.#arm();
  }

  /** Stops probing. */
  close(): void {
    this.#closed = true;
    this.#deps.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const s = this.#opts.probeInterval;
    if (this.#closed || this.#timer !== undefined) return;
    // without probing, names are still resolved again once their records expire
    const ms = s > 0 ? s * 1000 : this.hasNames ? this.#deps.resolver.ttlMs : 0;
    if (ms <= 0) return;
    this.#timer = this.#deps.clock.setTimer(ms, () => {
      this.#timer = undefined;
      if (this.#closed) return;
      const done = (): void => {
        if (this.#opts.probeInterval > 0) this.probeAll();
      };
      if (this.hasNames) this.refresh().then(done, done);
      else done();
      this.#arm();
    });
  }

  /** Resolves the names of the set again when their records are older than the resolver's TTL. */
  refresh(force = false): Promise<void> {
    if (!this.hasNames) return Promise.resolve();
    const now = this.#deps.clock.now();
    if (!force && now - this.#resolvedAt < this.#deps.resolver.ttlMs) return Promise.resolve();
    this.#resolving ??= this.#resolve().finally(() => {
      this.#resolving = undefined;
    });
    return this.#resolving;
  }

  async #resolve(): Promise<void> {
    const wall = this.#deps.clock.wallNow();
    const next: Member[] = [];
    // one destination once, at its first (best) place
    const seen = new Set<string>();
    const add = (h: NextHop, uri: string, e: Entry, p: number, w: number, g: string): void => {
      const k = hopKey(h);
      if (seen.has(k)) return;
      seen.add(k);
      next.push(this.#member(h, uri, e.uri, e.index, p, w, g, wall));
    };
    for (const e of this.#entries) {
      const n = this.#deps.resolver.resolveNumeric(e.parsed);
      if (n !== undefined) {
        add(n, e.uri, e, 0, 0, `${e.index}`);
        continue;
      }
      let groups: HopGroup[];
      try {
        groups = await this.#deps.resolver.resolveGroups(e.parsed);
        if (this.#unresolved.delete(e.uri))
          this.#deps.logger.info({ [this.name]: e.uri }, `${this.name} ${e.uri} resolves again`);
      } catch (err) {
        // keep what the name gave last time: a DNS hiccup must not empty the set
        for (const m of this.#members)
          if (m.source === e.uri && !seen.has(m.key)) {
            seen.add(m.key);
            next.push(m);
          }
        if (!this.#unresolved.has(e.uri)) {
          this.#unresolved.add(e.uri);
          this.#deps.logger.warn(
            { [this.name]: e.uri, err: err instanceof Error ? err.message : String(err) },
            `${this.name} ${e.uri} does not resolve: its last addresses are kept`,
          );
        }
        continue;
      }
      groups.forEach((g, gi) => {
        for (const h of g.hops) add(h, hopUri(h), e, g.priority, g.weight, `${e.index}.${gi}`);
      });
    }
    this.#members = next;
    this.#resolvedAt = this.#deps.clock.now();
  }

  /** The destinations, in configured order. */
  view(): DestinationView[] {
    return this.#members.map((m) => ({
      uri: m.uri,
      source: m.source,
      transport: m.hop.proto,
      address: m.hop.address,
      port: m.hop.port,
      state: m.state,
      since: m.since,
      lastProbe: m.lastProbe,
      lastResult: m.lastResult,
      failures: m.failures,
      failovers: m.failovers,
    }));
  }

  /**
   * True when a request from `address:port` comes from a destination of the set: the address and,
   * over UDP, the port (a registrar sends from its listening socket; over TCP and TLS connections
   * come from ephemeral ports).
   */
  isSource(address: string, port: number): boolean {
    const a = address.toLowerCase();
    for (const m of this.#members)
      if (m.hop.address.toLowerCase() === a && (m.hop.proto !== 'udp' || m.hop.port === port))
        return true;
    return false;
  }

  /**
   * The destinations a request tries, best first: those that are up, in the order of the policy.
   * Empty when every one is down. Names not resolved yet are resolved first (the promise).
   */
  plan(req: SipRequest, ruri: string): NextHop[] | Promise<NextHop[]> {
    if (this.#members.length === 0 && this.hasNames)
      return this.refresh(true).then(() => this.#plan(req, ruri));
    if (this.hasNames) this.refresh().catch(() => {});
    return this.#plan(req, ruri);
  }

  #plan(req: SipRequest, ruri: string): NextHop[] {
    const up = this.#members.filter((m) => m.state === DestinationState.Up);
    if (up.length === 0) return [];
    switch (this.policy) {
      case SelectPolicy.RoundRobin: {
        const sorted = [...up].sort((a, b) => a.priority - b.priority);
        const start = this.#rr++ % sorted.length;
        this.#rr %= 1 << 30;
        return [...sorted.slice(start), ...sorted.slice(0, start)].map((m) => m.hop);
      }
      case SelectPolicy.Hash: {
        const aor = aorOf(req, ruri);
        if (aor !== undefined) {
          // rendezvous (highest random weight) hashing: a destination's AoRs stay with it as long
          // as it is up, and only its AoRs move when it goes down
          const scored = up.map((m) => ({ m, s: fnv1aMix(`${aor.toLowerCase()}|${m.key}`) }));
          scored.sort((a, b) => b.s - a.s || a.m.priority - b.m.priority);
          return scored.map((x) => x.m.hop);
        }
        return this.#priorityOrder(up);
      }
      default:
        return this.#priorityOrder(up);
    }
  }

  /** RFC 2782 order over the groups (SRV records) of the members that are up. */
  #priorityOrder(up: readonly Member[]): NextHop[] {
    const groups = new Map<string, { priority: number; weight: number; members: Member[] }>();
    for (const m of up) {
      const g = groups.get(m.group);
      if (g === undefined)
        groups.set(m.group, { priority: m.priority, weight: m.weight, members: [m] });
      else g.members.push(m);
    }
    const out: NextHop[] = [];
    for (const g of rfc2782Order([...groups.values()], this.#random))
      for (const m of g.members) out.push(m.hop);
    return out;
  }

  /** What became of a request sent to `hop` (the proxy core reports every attempt). */
  report(hop: NextHop, outcome: NextHopOutcome): void {
    const m = this.#members.find((x) => x.key === hopKey(hop));
    if (m === undefined) return;
    if (outcome.ok) this.#succeeded(m, undefined);
    else {
      if (outcome.failedOver) m.failovers++;
      // a 503 to a request is an answer: the registrar is there, maybe busy with that one request
      // (REG_ERR_TOO_MANY is a 503 too); only its probes' 503s count against it
      if (outcome.why === '503') return;
      this.#failed(m, outcome.why, undefined);
    }
  }

  // ------------------------------------------------------------------ probing

  /** Sends one OPTIONS to every destination (the probe timer calls it; tests may too). */
  probeAll(): void {
    for (const m of this.#members) this.#probe(m);
  }

  #probe(m: Member): void {
    if (m.probing || this.#closed) return;
    const { transport, layer, clock } = this.#deps;
    const h = m.hop;
    const out = transport.selectListener(h.proto, h.address.includes(':') ? 6 : 4, h.address);
    if (out === undefined) {
      this.#probed(m, false, `no ${h.proto} listener`);
      return;
    }
    m.probing = true;
    this.#seq = (this.#seq + 1) >>> 0;
    const id = `${this.#callPrefix}${this.#seq.toString(36)}`;
    const branch = `z9hG4bK-fgprobe-${id}`;
    const from = this.#opts.probeFrom ?? `sip:flowgate@${sentBy(out)}`;
    const msg =
      `OPTIONS ${m.uri} SIP/2.0\r\n` +
      `Via: SIP/2.0/${viaTransport(out.proto)} ${sentBy(out)};branch=${branch};rport\r\n` +
      `Max-Forwards: 70\r\n` +
      `From: <${from}>;tag=${id}\r\n` +
      `To: <${m.uri}>\r\n` +
      `Call-ID: fgprobe-${id}\r\n` +
      `CSeq: 1 OPTIONS\r\n` +
      `Content-Length: 0\r\n\r\n`;
    let settled = false;
    let timer: Timer | undefined;
    const settle = (ok: boolean, result: string): void => {
      if (settled) return;
      settled = true;
      m.probing = false;
      clock.clearTimer(timer);
      this.#probed(m, ok, result);
    };
    const { tx, result } = layer.sendRequest(
      Buffer.from(msg, 'latin1'),
      branch,
      'OPTIONS',
      { proto: h.proto, address: h.address, port: h.port, listenerId: out.id },
      {
        onResponse: (res: SipResponse) => {
          if (res.status < 200) return;
          settle(res.status !== 503 && res.status !== 408, String(res.status));
        },
        onFailure: (kind) =>
          settle(false, kind === TxFailure.Timeout ? 'timeout' : 'transport error'),
      },
    );
    if (!result.ok) {
      settle(false, 'transport error');
      return;
    }
    // a probe waits as long as a request would before moving on (timer F would be 32 s)
    timer = clock.setTimer(this.timeoutMs, () => {
      timer = undefined;
      if (settled) return;
      tx.terminate();
      settle(false, 'timeout');
    });
  }

  #probed(m: Member, ok: boolean, result: string): void {
    m.lastProbe = this.#deps.clock.wallNow();
    m.lastResult = result;
    if (ok) this.#succeeded(m, result);
    else this.#failed(m, result, result);
  }

  #succeeded(m: Member, probe: string | undefined): void {
    m.failures = 0;
    if (m.state === DestinationState.Up) return;
    // a down destination comes back only on an answered probe (requests no longer go to it)
    if (probe === undefined) return;
    m.state = DestinationState.Up;
    m.since = this.#deps.clock.wallNow();
    this.#deps.logger.info(
      { [this.name]: m.uri, probe },
      `${this.name} ${m.uri} is up: it answered OPTIONS (${probe})`,
    );
  }

  #failed(m: Member, why: string, probe: string | undefined): void {
    m.failures++;
    // without probing nothing would bring a destination back: no down state then
    if (this.#opts.probeInterval <= 0) return;
    if (m.state === DestinationState.Down || m.failures < this.#opts.probeThreshold) return;
    m.state = DestinationState.Down;
    m.since = this.#deps.clock.wallNow();
    this.#deps.logger.warn(
      { [this.name]: m.uri, failures: m.failures, why, ...(probe === undefined ? {} : { probe }) },
      `${this.name} ${m.uri} is down after ${m.failures} failures in a row (last: ${why}): skipped until it answers OPTIONS`,
    );
  }
}
