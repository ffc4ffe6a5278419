import type { SipRequest, SipResponse } from '../message/message.js';
import type {
  FlowCloseReason,
  FlowId,
  FlowInfo,
  ReceiveInfo,
  SendErrorCallback,
  SendResult,
  SendTarget,
} from '../transport/types.js';
import type { Clock } from '../util/clock.js';

/** Transaction states (RFC 3261 §17, RFC 6026 adds Accepted). */
export const TxState = {
  Calling: 'calling',
  Trying: 'trying',
  Proceeding: 'proceeding',
  Accepted: 'accepted',
  Completed: 'completed',
  Confirmed: 'confirmed',
  Terminated: 'terminated',
} as const;
export type TxState = (typeof TxState)[keyof typeof TxState];

/** Why a transaction ended without a normal final exchange. */
export const TxFailure = {
  /** Timer B / F: no final response (RFC 3261 §17.1.1.2, §17.1.2.2). */
  Timeout: 'timeout',
  /** The transport could not deliver (RFC 3261 §17.1.4, §8.1.3.1). */
  Transport: 'transport',
  /** The flow named by the target no longer exists (RFC 5626 §5.3). */
  FlowGone: 'flow-gone',
} as const;
export type TxFailure = (typeof TxFailure)[keyof typeof TxFailure];

/** RFC 3261 §17.1.1.1 timer values, in ms. */
export interface TxTimers {
  /** RTT estimate (default 500). Kamailio `retr_timer1`. */
  readonly t1: number;
  /** Maximum non-INVITE retransmit interval (default 4000). Kamailio `retr_timer2`. */
  readonly t2: number;
  /** Maximum time a message stays in the network (default 5000). */
  readonly t4: number;
  /**
   * Timer B / F: how long a client transaction waits for any final response before it times out
   * (RFC 3261: 64*T1 = 32 s; Kamailio `fr_timer` default 30 s).
   */
  readonly frTimer: number;
}

export const DEFAULT_TIMERS: Readonly<TxTimers> = Object.freeze({
  t1: 500,
  t2: 4000,
  t4: 5000,
  frTimer: 30_000,
});

/** The sending side the transaction layer needs from the transport layer. */
export interface TransportPort {
  send(buf: Buffer, target: SendTarget, onError?: SendErrorCallback): SendResult;
  /**
   * A transaction is in progress on connection flow `id` (the one its request came on, or went
   * out on): the transport keeps the connection past its idle lifetime until {@link releaseFlow}.
   * Absent: the transport has no idle lifetime to hold off.
   */
  holdFlow?(id: FlowId): void;
  /** The transaction that held flow `id` ended. */
  releaseFlow?(id: FlowId): void;
}

/** A transaction as the table that holds it knows it: by its key. */
export interface KeyedTransaction {
  readonly key: string;
}

/**
 * What a transaction needs from the table that owns it (implemented by `TransactionLayer`), so
 * that client.ts and server.ts need not import layer.ts, which creates them.
 */
export interface TransactionHost {
  readonly transport: TransportPort;
  readonly clock: Clock;
  readonly timers: TxTimers;
  /** Kamailio `force_rport`: reply to the source port even without `rport` (RFC 3581). */
  readonly forceRport: boolean;
  /** The transaction ended: it leaves the table. */
  removeServer(tx: KeyedTransaction): void;
  removeClient(tx: KeyedTransaction): void;
  /** A finished non-INVITE server transaction over UDP is kept only as `bytes` to resend to `target` for `ms` (timer J). */
  retireServer(tx: KeyedTransaction, bytes: Buffer, target: SendTarget, ms: number): void;
  /** A finished non-INVITE client transaction over UDP only swallows retransmissions for `ms` (timer K). */
  retireClient(tx: KeyedTransaction, ms: number): void;
}

/** Upcalls from the transaction layer to its user (the proxy core). */
export interface TransactionUser {
  /**
   * A request that matches no server transaction: a new request, an ACK for a 2xx (RFC 3261
   * §17.2.3: a different transaction), or a CANCEL (its own transaction, RFC 3261 §9.2).
   */
  onRequest(req: SipRequest, info: ReceiveInfo): void;
  /** A response that matches no client transaction (RFC 3261 §17.1.3 / §18.1.2). */
  onStrayResponse(res: SipResponse, info: ReceiveInfo): void;
  onFlowOpen?(flow: FlowInfo): void;
  onFlowClose?(flow: FlowInfo, reason: FlowCloseReason): void;
}

/** Events of one client transaction, delivered to whoever created it. */
export interface ClientTransactionUser {
  /** Every response the TU must see: provisionals, the final, and 2xx retransmissions (RFC 6026). */
  onResponse(res: SipResponse, info: ReceiveInfo): void;
  /** The transaction failed without a final response. */
  onFailure(kind: TxFailure, detail: string): void;
}

/** Events of one server transaction. */
export interface ServerTransactionUser {
  /** Timer H fired: the ACK for a non-2xx final never came (RFC 3261 §17.2.1). */
  onAckTimeout?(): void;
  /** A response could not be sent. */
  onTransportError?(detail: string): void;
  /** The transaction left the table. */
  onTerminated?(): void;
}
