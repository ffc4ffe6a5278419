import type { Binding, LocationStore } from '../modules/location/binding.js';
import type { ProxyStats } from '../proxy/core.js';
import type { FlowInfo, ListenerInfo, TransportStats } from '../transport/types.js';
import type { Clock } from '../util/clock.js';

/** The part of a running element (`FlowgateServer`) management reads. */
export interface ManagedServer {
  readonly name: string;
  /** `flows()` and `stats()` are read when the transport has them (the socket transport does). */
  readonly transport: { readonly listeners: readonly ListenerInfo[] };
  readonly layer: {
    readonly serverCount: number;
    readonly clientCount: number;
    /** Finished transactions left out of the index (transaction/retired.ts); absent in fakes. */
    readonly retiredUnindexed?: number;
  };
  readonly core: { readonly stats: ProxyStats; readonly clock: Clock };
  /** The auth module, when loaded (results, challenges, lockouts). */
  readonly auth?:
    | {
        readonly stats: {
          readonly results: Readonly<Record<string, number>>;
          readonly challenges: number;
        };
        activeLockouts(): number;
      }
    | undefined;
  /** Pike, when loaded (sources banned now). */
  readonly pike?: { activeBans(): { rate: number; auth: number } } | undefined;
}

/** A running element with what management knows about it. */
export interface ManagedElement {
  readonly server: ManagedServer;
  /** `edge`, `registrar`, `static`, or the script file. */
  readonly script: string;
  /** Loaded modules (for `/v1/elements`). */
  readonly modules: readonly string[];
  /** The element's location store (registrar elements). */
  readonly location: LocationStore | undefined;
  /** Turns what a user typed (`sip:alice@example.com`, `alice`) into the store's AoR key. */
  readonly aorKey?: ((input: string) => string | undefined) | undefined;
}

interface TransportView {
  flows?(): FlowInfo[];
  stats?(): TransportStats;
  closeFlow?(id: string): boolean;
}

/** The element's flows (empty when its transport does not list them). */
export function flowsOf(e: ManagedElement): FlowInfo[] {
  const t = e.server.transport as TransportView;
  return typeof t.flows === 'function' ? t.flows() : [];
}

/**
 * Closes one of the element's connection flows: true when it was open, false when there is no
 * such connection, undefined when the element's transport cannot close flows.
 */
export function closeFlowOf(e: ManagedElement, id: string): boolean | undefined {
  const t = e.server.transport as TransportView;
  return typeof t.closeFlow === 'function' ? t.closeFlow(id) : undefined;
}

/** The element's transport counters (undefined when its transport has none). */
export function transportStatsOf(e: ManagedElement): TransportStats | undefined {
  const t = e.server.transport as TransportView;
  return typeof t.stats === 'function' ? t.stats() : undefined;
}

/**
 * Flow-token failures (loose_route -2 / check_flow_token -4): read from `core.stats.flowTokenFailures`
 * when the proxy core counts them (TODO: the counter is proposed to the proxy/outbound owners), else 0.
 */
export function flowTokenFailuresOf(e: ManagedElement): number {
  const v = (e.server.core.stats as ProxyStats & { flowTokenFailures?: unknown }).flowTokenFailures;
  return typeof v === 'number' ? v : 0;
}

/** A flow as the API shows it. */
export interface FlowJson {
  readonly element: string;
  readonly id: string;
  readonly transport: string;
  readonly local: string;
  readonly peer: string;
  readonly state: string;
  readonly outgoing: boolean;
  /** seconds since the flow opened */
  readonly age: number;
  /** seconds since the last traffic */
  readonly idle: number;
  /** seconds since the peer's last keep-alive; null when none was seen */
  readonly last_keepalive: number | null;
}

function hostPort(a: { address: string; port: number }): string {
  return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

const round = (ms: number): number => Math.max(0, Math.round(ms / 100) / 10);

/** JSON form of a flow. */
export function flowJson(e: ManagedElement, f: FlowInfo): FlowJson {
  const now = e.server.core.clock.now();
  return {
    element: e.server.name,
    id: f.id,
    transport: f.proto,
    local: hostPort(f.local),
    peer: hostPort(f.remote),
    state: f.state,
    outgoing: f.outgoing,
    age: round(now - f.openedAt),
    idle: round(now - f.lastActivity),
    last_keepalive: f.lastKeepalive === undefined ? null : round(now - f.lastKeepalive),
  };
}

/** A binding as the API shows it. */
export interface BindingJson {
  readonly element: string;
  readonly aor: string;
  readonly ruid: string;
  readonly contact: string;
  readonly expires: string;
  /** seconds left */
  readonly expires_in: number;
  readonly q: number | null;
  readonly path: readonly string[];
  readonly received: string | null;
  readonly instance: string | null;
  readonly reg_id: number;
  readonly flow: string | null;
  readonly socket: string | null;
  readonly user_agent: string | null;
  readonly call_id: string;
  readonly cseq: number;
}

/** JSON form of a binding. */
export function bindingJson(element: string, b: Binding, wallNow = Date.now()): BindingJson {
  return {
    element,
    aor: b.aor,
    ruid: b.ruid,
    contact: b.contact,
    expires: new Date(b.expires).toISOString(),
    expires_in: Math.max(0, Math.round((b.expires - wallNow) / 1000)),
    q: b.q === undefined ? null : b.q / 1000,
    path: b.path,
    received: b.received ?? null,
    instance: b.instance ?? null,
    reg_id: b.regId,
    flow: b.flowId ?? null,
    socket: b.socket ?? null,
    user_agent: b.userAgent ?? null,
    call_id: b.callId,
    cseq: b.cseq,
  };
}
