import { join } from 'node:path';
import type { LocationStore } from './modules/location/binding.js';
import { Outbound, type OutboundParams } from './modules/outbound/index.js';
import { PathModule } from './modules/path/index.js';
import type { RegistrarApi } from './modules/registrar/api.js';
import { DEFAULT_RR, RecordRoute, type RrParams } from './modules/rr/index.js';
import { ProxyCore } from './proxy/core.js';
import { Resolver } from './proxy/resolver.js';
import { DEFAULT_TM, type ProxyTransport, type TmParams } from './proxy/types.js';
import { type Script, scriptHandlers } from './script/api.js';
import { staticScript } from './script/static.js';
import { TransactionLayer } from './transaction/layer.js';
import type { TransportPort, TxTimers } from './transaction/types.js';
import { TransportLayer } from './transport/transport-layer.js';
import type {
  FlowInfo,
  ListenConfig,
  ListenerInfo,
  TlsConfig,
  TransportConfig,
  TransportStats,
} from './transport/types.js';
import { type Clock, RealClock } from './util/clock.js';
import { type Logger, noopLogger } from './util/logger.js';

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
}

/** The transport an element runs on: the socket `TransportLayer`, or a stand-in in tests. */
export type ElementTransport = ProxyTransport &
  TransportPort & {
    listen?(): Promise<unknown>;
    close?(): Promise<void>;
    /** Graceful shutdown: stop accepting connections, keep serving the open ones. */
    stopAccepting?(): void;
    flows?(): FlowInfo[];
    stats?(): TransportStats;
  };

/** A running SIP element. */
export interface FlowgateServer {
  readonly name: string;
  readonly transport: ElementTransport;
  readonly layer: TransactionLayer;
  readonly core: ProxyCore;
  readonly outbound: Outbound | undefined;
  readonly registrar: RegistrarApi | undefined;
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
    },
  );
  layer.setUser(core);
  const outbound =
    opts.outbound === undefined
      ? undefined
      : new Outbound(
          core,
          opts.outbound,
          opts.dataDir === undefined ? undefined : join(opts.dataDir, 'flow-token.key'),
        );
  const rr = new RecordRoute(core, { ...DEFAULT_RR, ...opts.rr }, outbound);
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
      sanityAutodrop: opts.sanityAutodrop,
      supported: ['path', 'outbound', 'gruu'],
    }),
  );
  let listening: readonly ListenerInfo[] = [];
  return {
    name: opts.name ?? 'flowgate',
    transport,
    layer,
    core,
    outbound,
    registrar,
    async listen() {
      await transport.listen?.();
      listening = transport.listeners;
      return listening;
    },
    drain() {
      transport.stopAccepting?.();
      core.draining = true;
    },
    async close() {
      layer.clear();
      await transport.close?.();
      const r = registrar as { close?(): Promise<void> } | undefined;
      await r?.close?.();
      await opts.location?.close();
    },
  };
}
