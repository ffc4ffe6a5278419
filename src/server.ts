import { join } from 'node:path';
import { Hdr } from './message/constants.js';
import { Auth, type AuthParams, type CredentialStore } from './modules/auth/index.js';
import type { LocationStore } from './modules/location/binding.js';
import { Nathelper, type NathelperParams } from './modules/nathelper/index.js';
import { Outbound, type OutboundParams } from './modules/outbound/index.js';
import { PathModule } from './modules/path/index.js';
import { PermissionGroup, Permissions } from './modules/permissions/index.js';
import { Pike, type PikeParams } from './modules/pike/index.js';
import type { RegistrarApi } from './modules/registrar/api.js';
import { DEFAULT_RR, RecordRoute, type RrParams } from './modules/rr/index.js';
import { MessageTap, SipTrace, type SiptraceParams } from './modules/siptrace/index.js';
import { ProxyCore } from './proxy/core.js';
import { DestinationSet, type DestinationSetOptions } from './proxy/destination-set.js';
import { Resolver } from './proxy/resolver.js';
import { DEFAULT_TM, type ProxyLimits, type ProxyTransport, type TmParams } from './proxy/types.js';
import { type Script, scriptHandlers } from './script/api.js';
import { staticScript } from './script/static.js';
import { TransactionLayer } from './transaction/layer.js';
import type { TransportPort, TxTimers } from './transaction/types.js';
import { TransportLayer } from './transport/transport-layer.js';
import type {
  FlowId,
  FlowInfo,
  ListenConfig,
  ListenerInfo,
  TlsConfig,
  TransportConfig,
  TransportStats,
} from './transport/types.js';
import { type Clock, RealClock } from './util/clock.js';
import { type Logger, noopLogger } from './util/logger.js';
import { loadOrCreateKey } from './util/secret-file.js';

/** Builds a registrar module for a server (the registrar module provides this; see `registrarModule`). */
export type RegistrarFactory = (
  core: ProxyCore,
  outbound: Outbound | undefined,
) => RegistrarApi & { close?(): Promise<void> };

/** Everything one SIP element (an edge, a registrar, or both in one) is made of. */
export interface ServerOptions {
  /** Name in logs and metrics. */
  readonly name?: string | undefined;
  readonly listen: readonly ListenConfig[];
  readonly tls?: TlsConfig | undefined;
  /** The routing script; default: OPTIONS 200, everything else 501. */
  readonly script?: Script | undefined;
  /** Kamailio `alias`: host names that are "myself". */
  readonly aliases?: readonly string[] | undefined;
  /** Kamailio `force_rport`. */
  readonly forceRport?: boolean | undefined;
  /** Transport settings (connection lifetime, WebSocket keep-alive, limits, caps). */
  readonly transport?: Omit<TransportConfig, 'listen' | 'tls'> | undefined;
  readonly timers?: Partial<TxTimers> | undefined;
  readonly tm?: Partial<TmParams> | undefined;
  readonly rr?: Partial<RrParams> | undefined;
  /** Load the outbound module (with these parameters); undefined = not loaded. */
  readonly outbound?: OutboundParams | undefined;
  /** Load the path module (default: true when outbound is loaded). */
  readonly path?: boolean | undefined;
  readonly registrar?: RegistrarFactory | undefined;
  /** Directory for persistent state (the flow-token key). */
  readonly dataDir?: string | undefined;
  readonly serverHeader?: string | undefined;
  readonly sanityAutodrop?: boolean | undefined;
  readonly logger?: Logger | undefined;
  readonly clock?: Clock | undefined;
  readonly resolver?: Resolver | undefined;
  /** Replaces the socket transport (tests). */
  readonly transportOverride?: ElementTransport | undefined;
  /** Location store to close with the server. */
  readonly location?: LocationStore | undefined;
  /** Load the auth module: its parameters and the credentials store (closed with the server). */
  readonly auth?: { readonly params: AuthParams; readonly store: CredentialStore } | undefined;
  /** Load nathelper (NAT traversal for UAs without RFC 5626, keep-alive pings). */
  readonly nathelper?: NathelperParams | undefined;
  /** Load pike: per-source request-rate and failed-authentication bans. */
  readonly pike?: PikeParams | undefined;
  /** Load siptrace: HEPv3 capture of every message to a collector. */
  readonly siptrace?: SiptraceParams | undefined;
  /** Source address groups (permissions): trusted peers, edges, this edge's registrars. */
  readonly permissions?:
    | {
        readonly trusted?: readonly string[] | undefined;
        readonly edges?: readonly string[] | undefined;
        readonly registrars?: readonly string[] | undefined;
      }
    | undefined;
  /** Caps on transactions and branches. */
  readonly limits?: Partial<ProxyLimits> | undefined;
  /** Sign our Record-Route per dialog and follow in-dialog requests only through a valid one. */
  readonly signDialogs?: boolean | undefined;
  /** Relay responses matching no transaction by their Via (seed behaviour; default off, RFC 6026). */
  readonly forwardStrayResponses?: boolean | undefined;
  /**
   * The edge's registrar set: a request whose `$du` is `du` goes to these registrars with
   * failover, and they are probed with OPTIONS (Kamailio dispatcher; `edge.registrar`).
   */
  readonly registrarSet?: RegistrarSetOptions | undefined;
}

/** {@link ServerOptions.registrarSet}: the `$du` that names the set, and the set's settings. */
export type RegistrarSetOptions = Omit<DestinationSetOptions, 'name'> & {
  /** The `$du` the script writes for the registrar (`REGISTRAR`). */
  readonly du: string;
};

/** The transport an element runs on: the socket `TransportLayer`, or a stand-in in tests. */
export type ElementTransport = ProxyTransport &
  TransportPort & {
    listen?(): Promise<unknown>;
    close?(): Promise<void>;
    /** Graceful shutdown: stop accepting connections, keep serving the open ones. */
    stopAccepting?(): void;
    flows?(): FlowInfo[];
    stats?(): TransportStats;
    /** Closes a connection flow (`flowgate ctl close-flow`); false when no such connection is open. */
    closeFlow?(id: FlowId): boolean;
  };

/** A running SIP element. */
export interface FlowgateServer {
  readonly name: string;
  readonly transport: ElementTransport;
  readonly layer: TransactionLayer;
  readonly core: ProxyCore;
  readonly outbound: Outbound | undefined;
  readonly registrar: RegistrarApi | undefined;
  readonly auth: Auth | undefined;
  readonly pike: Pike | undefined;
  readonly nathelper: Nathelper | undefined;
  readonly permissions: Permissions;
  /** The edge's registrars with their state (undefined: no registrar set). */
  readonly registrars: DestinationSet | undefined;
  /** The messages this element receives and sends (capture and `flowgate ctl trace` read it). */
  readonly tap: MessageTap;
  /** HEP capture, when siptrace is loaded. */
  readonly siptrace: SipTrace | undefined;
  listen(): Promise<readonly ListenerInfo[]>;
  /** Graceful shutdown, step 1: no new connections, new dialog-creating requests get 503; the rest finishes. */
  drain(): void;
  close(): Promise<void>;
}

/** Wires message → transport → transaction → proxy core → modules → script for one element. */
export function createServer(opts: ServerOptions): FlowgateServer {
  const logger = (opts.logger ?? noopLogger).child({ element: opts.name ?? 'flowgate' });
  const clock = opts.clock ?? new RealClock();
  const tm: TmParams = { ...DEFAULT_TM, ...opts.tm };
  // the transport user is set once the layers above exist
  let layerRef: TransactionLayer | undefined;
  const transport: ElementTransport =
    opts.transportOverride ??
    new TransportLayer(
      { ...opts.transport, listen: opts.listen, tls: opts.tls },
      {
        onMessage: (m, i) => layerRef?.onMessage(m, i),
        onFlowOpen: (f) => layerRef?.onFlowOpen(f),
        onFlowClose: (f, r) => layerRef?.onFlowClose(f, r),
      },
      { clock, logger },
    );
  const timers: Partial<TxTimers> = { ...opts.timers };
  const layer = new TransactionLayer(
    transport,
    { onRequest: () => {}, onStrayResponse: () => {} },
    {
      clock,
      logger,
      timers,
      forceRport: opts.forceRport ?? false,
    },
  );
  layerRef = layer;
  const core = new ProxyCore(
    layer,
    transport,
    { request: () => {}, failure: () => {}, branchFailure: () => {} },
    {
      clock,
      logger,
      forceRport: opts.forceRport ?? false,
      aliases: opts.aliases ?? [],
      tm,
      resolver: opts.resolver ?? new Resolver(),
      serverHeader: opts.serverHeader,
      limits: opts.limits,
    },
  );
  layer.setUser(core);
  core.forwardStrayResponses = opts.forwardStrayResponses ?? false;
  const permissions = new Permissions({
    [PermissionGroup.Trusted]: opts.permissions?.trusted ?? [],
    [PermissionGroup.Edges]: opts.permissions?.edges ?? [],
    [PermissionGroup.Registrars]: opts.permissions?.registrars ?? [],
  });
  const rs = opts.registrarSet;
  const registrars =
    rs === undefined
      ? undefined
      : new DestinationSet(
          { ...rs, name: 'registrar' },
          { layer, transport, clock, logger, resolver: core.resolver },
        );
  if (rs !== undefined && registrars !== undefined) {
    core.addNextHopSet(rs.du, registrars);
    // the addresses a registrar name resolves to are registrars too (permissions group 3)
    if (registrars.hasNames)
      permissions.addMatcher(PermissionGroup.Registrars, (ip, port) =>
        registrars.isSource(ip, port),
      );
  }
  const pike =
    opts.pike === undefined
      ? undefined
      : new Pike(
          opts.pike,
          () => clock.wallNow(),
          (ip, port) => permissions.exempt(ip, port),
          {
            banned: (ip, why, detail) =>
              core.limitHit(
                why === 'rate' ? 'pike' : 'auth_source',
                `ban:${ip}`,
                { src: ip, why, ban_s: opts.pike?.ban_time },
                `source ${ip} banned for ${opts.pike?.ban_time} s: ${detail}`,
              ),
            dropped: () => {
              core.stats.limits['banned_dropped'] = (core.stats.limits['banned_dropped'] ?? 0) + 1;
            },
          },
        );
  // pike first: a banned source costs one map lookup, nothing more (issue 10 §5)
  if (pike !== undefined)
    layer.requestFilter = (_req, i) => pike.checkRequest(i.remote.address, i.remote.port) >= 0;
  if (pike !== undefined) {
    // the edge sees the registrar's 401/407 to a request that carried credentials: a failed
    // password from this client source (not a stale nonce, RFC 7616 §3.3)
    core.relayedFinalHooks.push((req, info, res) => {
      if (res.status !== 401 && res.status !== 407) return;
      const h = res.status === 401 ? Hdr.Authorization : Hdr.ProxyAuthorization;
      if (!req.hasHeader(h)) return;
      const challenge = res.getHeader(
        res.status === 401 ? Hdr.WwwAuthenticate : Hdr.ProxyAuthenticate,
      );
      if (challenge !== undefined && /\bstale\s*=\s*"?true/i.test(challenge)) return;
      pike.authFailure(info.remote.address, info.remote.port);
    });
  }
  const nathelper = opts.nathelper === undefined ? undefined : new Nathelper(core, opts.nathelper);
  if (nathelper !== undefined)
    core.isUdpFlowGone = (listenerId, address, port) => nathelper.isGone(listenerId, address, port);
  const auth =
    opts.auth === undefined
      ? undefined
      : new Auth(core, opts.auth.params, opts.auth.store, {
          authFailure: (ip, port) => {
            // a client behind one of our edges is counted (and banned) at the edge, not here
            if (!permissions.allowSourceAddress(PermissionGroup.Edges, ip, port))
              pike?.authFailure(ip, port);
          },
        });
  const outbound =
    opts.outbound === undefined
      ? undefined
      : new Outbound(
          core,
          opts.outbound,
          opts.dataDir === undefined ? undefined : join(opts.dataDir, 'flow-token.key'),
        );
  const rr = new RecordRoute(
    core,
    {
      ...DEFAULT_RR,
      ...opts.rr,
      dialog_key:
        opts.signDialogs === true
          ? loadOrCreateKey(
              opts.dataDir === undefined ? undefined : join(opts.dataDir, 'dialog.key'),
              32,
            )
          : undefined,
    },
    outbound,
  );
  const path = (opts.path ?? outbound !== undefined) ? new PathModule(outbound) : undefined;
  const registrar = opts.registrar?.(core, outbound);
  const script = opts.script ?? staticScript();
  core.setHandlers(
    scriptHandlers(script, {
      core,
      logger,
      rr,
      path,
      outbound,
      registrar,
      auth,
      pike,
      permissions,
      nathelper,
      sanityAutodrop: opts.sanityAutodrop,
      supported: ['path', 'outbound', 'gruu'],
    }),
  );
  const tap = new MessageTap({ name: opts.name ?? 'flowgate', transport });
  const siptrace =
    opts.siptrace === undefined ? undefined : new SipTrace(tap, opts.siptrace, { logger });
  let listening: readonly ListenerInfo[] = [];
  return {
    name: opts.name ?? 'flowgate',
    transport,
    layer,
    core,
    outbound,
    registrar,
    auth,
    pike,
    nathelper,
    permissions,
    registrars,
    tap,
    siptrace,
    async listen() {
      await transport.listen?.();
      listening = transport.listeners;
      registrars?.start();
      await siptrace?.start();
      return listening;
    },
    drain() {
      transport.stopAccepting?.();
      core.draining = true;
    },
    async close() {
      registrars?.close();
      layer.clear();
      tap.close();
      await siptrace?.close();
      await transport.close?.();
      const r = registrar as { close?(): Promise<void> } | undefined;
      await r?.close?.();
      await opts.location?.close();
      await opts.auth?.store.close();
    },
  };
}
