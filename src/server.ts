import { join } from 'node:path';
// types only: every module is created through the registry (its exports' `create`)
import type { Auth, AuthParams, CredentialStore } from './modules/auth/index.js';
import type { ModuleContext, ModuleExports, ModuleInstance } from './modules/contract.js';
import type { LocationStore } from './modules/location/binding.js';
import type { Nathelper, NathelperParams } from './modules/nathelper/index.js';
import type { Outbound, OutboundParams } from './modules/outbound/index.js';
import type { Permissions } from './modules/permissions/index.js';
import type { Pike, PikeParams } from './modules/pike/index.js';
import type { RegistrarApi } from './modules/registrar/api.js';
import type { RegistrarFactory } from './modules/registrar/exports.js';
import { closeModules, createModules, startModules } from './modules/registry.js';
import type { RrParams } from './modules/rr/index.js';
import type { MessageTap, SipTrace, SiptraceParams } from './modules/siptrace/index.js';
import { ProxyCore } from './proxy/core.js';
import { DestinationSet, type DestinationSetOptions } from './proxy/destination-set.js';
import { Resolver } from './proxy/resolver.js';
import { DEFAULT_TM, type ProxyLimits, type ProxyTransport, type TmParams } from './proxy/types.js';
import { type Script, scriptHandlers } from './script/api.js';
import type { ScriptEnv } from './script/env.js';
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

export type { RegistrarFactory };

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
  const rs = opts.registrarSet;
  const registrars =
    rs === undefined
      ? undefined
      : new DestinationSet(
          { ...rs, name: 'registrar' },
          { layer, transport, clock, logger, resolver: core.resolver },
        );
  if (rs !== undefined && registrars !== undefined) core.addNextHopSet(rs.du, registrars);
  // the modules: created once, in the registry's dependency order (Kamailio mod_init); each
  // module's create registers its own hooks through these services
  const dataDir = opts.dataDir;
  const base: Omit<ModuleContext, 'params' | 'dep'> = {
    services: core,
    clock,
    logger,
    dataFile: (file) => (dataDir === undefined ? undefined : join(dataDir, file)),
    element: {
      name: opts.name ?? 'flowgate',
      transport,
      signDialogs: opts.signDialogs === true,
      registrarSource:
        registrars?.hasNames === true ? (ip, port) => registrars.isSource(ip, port) : undefined,
      setRequestFilter: (filter) => {
        layer.requestFilter = filter;
      },
      setUdpFlowGone: (gone) => {
        core.isUdpFlowGone = gone;
      },
      countLimit: (limit) => {
        core.stats.limits[limit] = (core.stats.limits[limit] ?? 0) + 1;
      },
    },
  };
  const options = opts as unknown as Readonly<Record<string, unknown>>;
  const created = createModules(base, (m: ModuleExports) => options[m.options ?? m.name]);
  const instance = new Map<string, unknown>();
  const env: Partial<Record<ModuleInstance, unknown>> = {};
  const provided = new Map<string, unknown>();
  for (const { module, handle } of created) {
    instance.set(module.name, handle?.instance);
    const key = module.instance ?? module.scriptEnv;
    if (key !== undefined) env[key] = handle?.instance;
    for (const [k, v] of Object.entries(handle?.provides ?? {})) provided.set(k, v);
  }
  const script = opts.script ?? staticScript();
  core.setHandlers(
    scriptHandlers(script, {
      ...(env as Pick<ScriptEnv, ModuleInstance>),
      core,
      logger,
      sanityAutodrop: opts.sanityAutodrop,
      supported: ['path', 'outbound', 'gruu'],
    }),
  );
  const tap = provided.get('tap') as MessageTap;
  const mod = <T>(name: string): T | undefined => instance.get(name) as T | undefined;
  let listening: readonly ListenerInfo[] = [];
  return {
    name: opts.name ?? 'flowgate',
    transport,
    layer,
    core,
    outbound: mod<Outbound>('outbound'),
    registrar: mod<RegistrarApi>('registrar'),
    auth: mod<Auth>('auth'),
    pike: mod<Pike>('pike'),
    nathelper: mod<Nathelper>('nathelper'),
    permissions: mod<Permissions>('permissions') as Permissions,
    registrars,
    tap,
    siptrace: mod<SipTrace>('siptrace'),
    async listen() {
      await transport.listen?.();
      listening = transport.listeners;
      registrars?.start();
      await startModules(created);
      return listening;
    },
    drain() {
      transport.stopAccepting?.();
      core.draining = true;
    },
    async close() {
      registrars?.close();
      layer.clear();
      await transport.close?.();
      // reverse creation order: the registrar before its location store (Kamailio destroy)
      await closeModules(created);
    },
  };
}
