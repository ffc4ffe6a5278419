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
  readonly maxBufferedBytes: number;
  readonly firstMessageTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly stunSoftware: string;
}

/** Defaults (Kamailio's where it has one: tcp_connection_lifetime, websocket keepalive_*, tcp_max_connections). */
export const TRANSPORT_DEFAULTS = Object.freeze({
  tcpConnectionLifetime: 120,
  wsKeepaliveTimeout: 180,
  wsKeepaliveInterval: 1,
  maxConnections: 2048,
  maxConnectionsPerIp: 1024,
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
 * Counts open sockets in total and per remote IP (the "Protection" caps). Incoming sockets take a
 * slot per IP and one in total; outgoing ones only in total.
 */
export class ConnectionLimiter {
  readonly #max: number;
  readonly #maxPerIp: number;
  readonly #perIp = new Map<string, number>();
  #total = 0;

  constructor(max: number, maxPerIp: number) {
    this.#max = max;
    this.#maxPerIp = maxPerIp;
  }

  get total(): number {
    return this.#total;
  }

  /** Takes a slot; returns why not (`limit`, `limit-per-ip`) when a cap is reached. */
  acquire(ip: string | undefined): 'limit' | 'limit-per-ip' | undefined {
    if (this.#total >= this.#max) return 'limit';
    if (ip !== undefined) {
      const n = this.#perIp.get(ip) ?? 0;
      if (n >= this.#maxPerIp) return 'limit-per-ip';
      this.#perIp.set(ip, n + 1);
    }
    this.#total++;
    return undefined;
  }

  release(ip: string | undefined): void {
    this.#total--;
    if (ip === undefined) return;
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
