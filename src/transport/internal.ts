import { InvalidArgumentError } from '../errors/sip-error.js';
import { DEFAULT_LIMITS, type MessageLimits } from '../message/scanner.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import {
  type DropReason,
  FlowCloseReason,
  type FlowId,
  KeepaliveKind,
  Proto,
  RefuseReason,
  type TransportConfig,
  type TransportStats,
} from './types.js';

/**
 * Pieces shared by the transport modules and {@link TransportLayer}; not part of the public API.
 */

/** TransportConfig with defaults applied and times in milliseconds. */
export interface TransportSettings {
  readonly workerId: number;
  readonly limits: Readonly<MessageLimits>;
  readonly lifetimeMs: number;
  readonly wsKeepaliveTimeoutMs: number;
  readonly wsKeepaliveIntervalMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxOutgoingConnections: number;
  readonly maxBufferedBytes: number;
  readonly firstMessageTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly stunSoftware: string;
}

/**
 * Defaults (Kamailio's where it has one: tcp_connection_lifetime, websocket keepalive_*,
 * tcp_max_connections). The caps match the config's `modules.limits` defaults.
 */
export const TRANSPORT_DEFAULTS = Object.freeze({
  tcpConnectionLifetime: 120,
  wsKeepaliveTimeout: 180,
  wsKeepaliveInterval: 1,
  maxConnections: 2048,
  // one source may hold 64 of the 2048 accept slots, not half of them (issue 10)
  maxConnectionsPerIp: 64,
  maxOutgoingConnections: 1024,
  maxBufferedBytes: 262_144,
  firstMessageTimeout: 20_000,
  connectTimeout: 10,
  stunSoftware: 'flowgate',
});

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0)
    throw new InvalidArgumentError(`transport: ${name} must be a positive number, got ${v}`);
  return v;
}

/** Applies defaults and checks ranges; throws InvalidArgumentError on a bad value. */
export function resolveSettings(config: TransportConfig): TransportSettings {
  const workerId = config.workerId ?? 0;
  if (!Number.isInteger(workerId) || workerId < 0)
    throw new InvalidArgumentError(
      `transport: workerId must be a non-negative integer, got ${workerId}`,
    );
  const limits: MessageLimits = { ...DEFAULT_LIMITS, ...stripUndefined(config.limits) };
  return {
    workerId,
    limits,
    lifetimeMs:
      positive(
        'tcpConnectionLifetime',
        config.tcpConnectionLifetime,
        TRANSPORT_DEFAULTS.tcpConnectionLifetime,
      ) * 1000,
    wsKeepaliveTimeoutMs:
      positive(
        'wsKeepaliveTimeout',
        config.wsKeepaliveTimeout,
        TRANSPORT_DEFAULTS.wsKeepaliveTimeout,
      ) * 1000,
    wsKeepaliveIntervalMs:
      positive(
        'wsKeepaliveInterval',
        config.wsKeepaliveInterval,
        TRANSPORT_DEFAULTS.wsKeepaliveInterval,
      ) * 1000,
    maxConnections: Math.floor(
      positive('maxConnections', config.maxConnections, TRANSPORT_DEFAULTS.maxConnections),
    ),
    maxConnectionsPerIp: Math.floor(
      positive(
        'maxConnectionsPerIp',
        config.maxConnectionsPerIp,
        TRANSPORT_DEFAULTS.maxConnectionsPerIp,
      ),
    ),
    maxOutgoingConnections: Math.floor(
      positive(
        'maxOutgoingConnections',
        config.maxOutgoingConnections,
        TRANSPORT_DEFAULTS.maxOutgoingConnections,
      ),
    ),
    maxBufferedBytes: Math.floor(
      positive('maxBufferedBytes', config.maxBufferedBytes, TRANSPORT_DEFAULTS.maxBufferedBytes),
    ),
    firstMessageTimeoutMs: positive(
      'firstMessageTimeout',
      config.firstMessageTimeout,
      TRANSPORT_DEFAULTS.firstMessageTimeout,
    ),
    connectTimeoutMs:
      positive('connectTimeout', config.connectTimeout, TRANSPORT_DEFAULTS.connectTimeout) * 1000,
    stunSoftware: config.stunSoftware ?? TRANSPORT_DEFAULTS.stunSoftware,
  };
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (o === undefined) return out;
  for (const [k, v] of Object.entries(o))
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Mutable counters behind {@link TransportStats}. */
export class Counters {
  readonly messagesIn = protoRecord();
  readonly messagesOut = protoRecord();
  readonly keepalives = keyRecord(Object.values(KeepaliveKind));
  readonly drops: Record<DropReason, number> = {
    runt: 0,
    crlf: 0,
    'source-port-0': 0,
    'stun-ignored': 0,
    'bad-request': 0,
    'bad-response': 0,
    garbage: 0,
    framing: 0,
    'user-error': 0,
    'keepalive-over-cap': 0,
  };
  errorReplies = 0;
  stunRequests = 0;
  connectionsAccepted = 0;
  connectionsOpened = 0;
  readonly connectionsRefused = keyRecord(Object.values(RefuseReason));
  readonly connectionsClosed = keyRecord(Object.values(FlowCloseReason));

  refused(cause: RefuseReason): void {
    this.connectionsRefused[cause]++;
  }

  snapshot(openConnections: number, udpFlows: number): TransportStats {
    return {
      messagesIn: { ...this.messagesIn },
      messagesOut: { ...this.messagesOut },
      keepalives: { ...this.keepalives },
      drops: { ...this.drops },
      errorReplies: this.errorReplies,
      stunRequests: this.stunRequests,
      connectionsAccepted: this.connectionsAccepted,
      connectionsOpened: this.connectionsOpened,
      connectionsRefused: { ...this.connectionsRefused },
      connectionsClosed: { ...this.connectionsClosed },
      openConnections,
      udpFlows,
    };
  }
}

function protoRecord(): Record<Proto, number> {
  return keyRecord(Object.values(Proto));
}

function keyRecord<K extends string>(keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = 0;
  return out;
}

/**
 * Counts open sockets against the "Protection" caps. Accepted sockets take a slot in total and one
 * for their remote IP; outgoing ones (opened by this layer) draw from a budget of their own, so a
 * flood of accepted connections cannot stop the edge from reaching its registrar, and connections
 * we open cannot use up the accept budget.
 */
export class ConnectionLimiter {
  readonly #max: number;
  readonly #maxPerIp: number;
  readonly #maxOutgoing: number;
  readonly #perIp = new Map<string, number>();
  #incoming = 0;
  #outgoing = 0;

  constructor(max: number, maxPerIp: number, maxOutgoing: number) {
    this.#max = max;
    this.#maxPerIp = maxPerIp;
    this.#maxOutgoing = maxOutgoing;
  }

  /** Slots taken by accepted sockets. */
  get incoming(): number {
    return this.#incoming;
  }

  /** Slots taken by outgoing sockets. */
  get outgoing(): number {
    return this.#outgoing;
  }

  /** Takes a slot for a socket accepted from `ip`; returns why not when a cap is reached. */
  acquire(ip: string): 'limit' | 'limit-per-ip' | undefined {
    if (this.#incoming >= this.#max) return 'limit';
    const n = this.#perIp.get(ip) ?? 0;
    if (n >= this.#maxPerIp) return 'limit-per-ip';
    this.#perIp.set(ip, n + 1);
    this.#incoming++;
    return undefined;
  }

  /** Takes a slot for an outgoing socket; `limit-outgoing` when the budget is spent. */
  acquireOutgoing(): 'limit-outgoing' | undefined {
    if (this.#outgoing >= this.#maxOutgoing) return 'limit-outgoing';
    this.#outgoing++;
    return undefined;
  }

  /** Gives back a slot: an accepted socket's (its remote `ip`), or an outgoing one's (undefined). */
  release(ip: string | undefined): void {
    if (ip === undefined) {
      this.#outgoing--;
      return;
    }
    this.#incoming--;
    const n = (this.#perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, n);
  }
}

/** Makes connection flow ids: `w<worker>/c<n>`. */
export class FlowIdSource {
  readonly #prefix: string;
  #next = 1;
  constructor(workerId: number) {
    this.#prefix = `w${workerId}/c`;
  }
  next(): FlowId {
    return `${this.#prefix}${this.#next++}`;
  }
}

/** The parts of the transport layer a connection or listener calls back into. */
export interface ConnectionHost {
  readonly clock: Clock;
  readonly settings: TransportSettings;
  readonly counters: Counters;
  readonly logger: Logger;
}
