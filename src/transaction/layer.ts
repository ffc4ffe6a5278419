import type { SipMessage, SipRequest, SipResponse } from '../message/message.js';
import type {
  FlowCloseReason,
  FlowInfo,
  ReceiveInfo,
  SendResult,
  SendTarget,
  TransportUser,
} from '../transport/types.js';
import { ByteArena } from '../util/byte-arena.js';
import type { Clock, Timer } from '../util/clock.js';
import { RealClock } from '../util/clock.js';
import { detach } from '../util/detach.js';
import { channels } from '../util/diagnostics.js';
import { type Logger, noopLogger } from '../util/logger.js';
import { SlotMap } from '../util/slot-map.js';
import { ClientTransaction } from './client.js';
import { clientKey, inviteKeyForCancel, serverKey } from './matcher.js';
import { RetiredTable } from './retired.js';
import { ServerTransaction } from './server.js';
import {
  type ClientTransactionUser,
  DEFAULT_TIMERS,
  type KeyedTransaction,
  type ServerTransactionUser,
  type TransactionHost,
  type TransactionUser,
  type TransportPort,
  type TxTimers,
} from './types.js';

/** How often retired transactions are swept (they are also checked against their deadline on use). */
const SWEEP_MS = 1000;

export interface TransactionLayerOptions {
  clock?: Clock | undefined;
  logger?: Logger | undefined;
  timers?: Partial<TxTimers> | undefined;
  /** Kamailio `force_rport`: reply to the source port even without `rport` (RFC 3581). */
  forceRport?: boolean | undefined;
  /**
   * Hash seed of the finished transactions' index (retired.ts). Random per process by default, so
   * nobody outside can craft branches that share index places; tests fix it to do just that.
   */
  retiredSeed?: number | undefined;
}

/**
 * The transaction layer (RFC 3261 §17; Kamailio tm core): the table of client and server
 * transactions, matching of incoming messages, and the hand-over of everything else to the
 * transaction user. Server transactions are created by the user (as Kamailio's `t_newtran` /
 * `t_relay` do), so stateless processing stays possible.
 */
export class TransactionLayer implements TransportUser, TransactionHost {
  readonly transport: TransportPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers: TxTimers;
  readonly forceRport: boolean;
  #user: TransactionUser;
  /**
   * Runs first for every request received (retransmissions included); false drops it before any
   * matching (pike: a banned source costs one map lookup).
   */
  requestFilter: ((req: SipRequest, info: ReceiveInfo) => boolean) | undefined;
  // transactions come and go thousands of times a second: SlotMap, not Map (see util/slot-map.ts)
  readonly #servers = new SlotMap<ServerTransaction>();
  readonly #clients = new SlotMap<ClientTransaction>();
  /**
   * Finished non-INVITE transactions over UDP, waiting out timer J (server, 64*T1) or K (client,
   * T4): all they still do is answer a retransmitted request with the final's bytes, or swallow a
   * retransmitted response. Each is kept as its bytes, its destination and its deadline, nothing
   * else (issue 12: the full objects, with the proxy state they referenced, made the heap grow with
   * the request rate times 32 s), in tables without an object per transaction (retired.ts).
   */
  readonly #retiredServers: RetiredTable;
  readonly #retiredClients: RetiredTable;
  /** The retired finals' bytes, packed in deadline order. */
  readonly #kept = new ByteArena();
  #sweep: Timer | undefined;
  /** Unindexed retired transactions when last logged, and when (at most one line a minute). */
  #unindexedLogged = 0;
  #unindexedLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(transport: TransportPort, user: TransactionUser, opts: TransactionLayerOptions = {}) {
    this.transport = transport;
    this.#user = user;
    this.clock = opts.clock ?? new RealClock();
    this.logger = opts.logger ?? noopLogger;
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.forceRport = opts.forceRport ?? false;
    this.#retiredServers = new RetiredTable(true, opts.retiredSeed);
    this.#retiredClients = new RetiredTable(false, opts.retiredSeed);
  }

  setUser(user: TransactionUser): void {
    this.#user = user;
  }

  /** Server transactions in the table, finished ones waiting out timer J included. */
  get serverCount(): number {
    return this.#servers.size + this.#retiredServers.size;
  }

  /** Client transactions in the table, finished ones waiting out timer K included. */
  get clientCount(): number {
    return this.#clients.size + this.#retiredClients.size;
  }

  /** Of those, the finished ones kept only as bytes and a deadline (server, client). */
  get retiredCounts(): { readonly server: number; readonly client: number } {
    return { server: this.#retiredServers.size, client: this.#retiredClients.size };
  }

  /**
   * Finished transactions that could not be indexed (keys crafted to share hash places, see
   * retired.ts MAX_PROBE): their retransmissions reach the transaction user as new requests.
   */
  get retiredUnindexed(): number {
    return this.#retiredServers.unindexed + this.#retiredClients.unindexed;
  }

  /** Transactions still waiting for a final response (what a graceful shutdown waits for). */
  get pendingCount(): number {
    let n = 0;
    for (const t of this.#servers.values()) if (!t.finalSent) n++;
    for (const t of this.#clients.values()) if (t.lastStatus < 200) n++;
    return n;
  }

  /**
   * The transactions still waiting for a final response, server ones first, at most `limit`
   * (management views; finished ones waiting out their timers are left out).
   */
  pending(limit: number): (ServerTransaction | ClientTransaction)[] {
    const out: (ServerTransaction | ClientTransaction)[] = [];
    for (const t of this.#servers.values()) {
      if (out.length >= limit) return out;
      if (!t.finalSent) out.push(t);
    }
    for (const t of this.#clients.values()) {
      if (out.length >= limit) return out;
      if (t.lastStatus < 200) out.push(t);
    }
    return out;
  }

  // ---- TransportUser

  onMessage(msg: SipMessage, info: ReceiveInfo): void {
    if (msg.isRequest) {
      const req = msg as SipRequest;
      if (this.requestFilter !== undefined && !this.requestFilter(req, info)) return;
      const key = serverKey(req);
      if (key !== undefined) {
        const tx = this.#servers.get(key);
        if (tx !== undefined) {
          // RFC 3261 §17.2.3: a retransmission or the hop-by-hop ACK of this transaction
          tx.receiveRequest(req);
          return;
        }
        const retired = this.#retiredServers;
        const slot = retired.size === 0 ? -1 : retired.find(key, this.clock.now());
        if (slot >= 0) {
          // RFC 3261 §17.2.2: Completed answers a retransmission with the final again
          this.transport.send(retired.bytes(slot), retired.target(slot));
          return;
        }
      }
      this.#user.onRequest(req, info);
      return;
    }
    const res = msg as SipResponse;
    const key = clientKey(res);
    if (key !== undefined) {
      const tx = this.#clients.get(key);
      if (tx !== undefined) {
        tx.receiveResponse(res, info);
        return;
      }
      // RFC 3261 §17.1.2.2: Completed absorbs retransmitted responses
      const retired = this.#retiredClients;
      if (retired.size > 0 && retired.find(key, this.clock.now()) >= 0) return;
    }
    this.#user.onStrayResponse(res, info);
  }

  onFlowOpen(flow: FlowInfo): void {
    this.#user.onFlowOpen?.(flow);
  }

  onFlowClose(flow: FlowInfo, reason: FlowCloseReason): void {
    this.#user.onFlowClose?.(flow, reason);
  }

  // ---- server side

  /** The server transaction a request belongs to (for `t_check_trans`), if any. */
  findServer(req: SipRequest): ServerTransaction | undefined {
    const key = serverKey(req);
    return key === undefined ? undefined : this.#servers.get(key);
  }

  /** The INVITE server transaction a CANCEL targets (RFC 3261 §9.2). */
  findInviteForCancel(cancel: SipRequest): ServerTransaction | undefined {
    const key = inviteKeyForCancel(cancel);
    return key === undefined ? undefined : this.#servers.get(key);
  }

  /**
   * Creates the server transaction for a request (not for ACK). Returns undefined if the request
   * cannot be keyed or a transaction already exists (a retransmission that raced in).
   */
  createServer(
    req: SipRequest,
    info: ReceiveInfo,
    user?: ServerTransactionUser,
  ): ServerTransaction | undefined {
    if (req.method === 'ACK') return undefined;
    const key = serverKey(req);
    if (key === undefined || this.#servers.has(key) || this.#retiredServers.has(key))
      return undefined;
    // the key outlives the request: keep it from pinning the whole message text
    const tx = new ServerTransaction(this, detach(key), req, info, user);
    this.#servers.set(key, tx);
    return tx;
  }

  /** @internal */
  removeServer(tx: KeyedTransaction): void {
    if (this.#servers.get(tx.key) === tx) this.#servers.delete(tx.key);
  }

  /**
   * @internal A non-INVITE server transaction sent its final over UDP: from now on it is only
   * `bytes` to resend to `target` until `ms` have passed (timer J).
   */
  retireServer(tx: KeyedTransaction, bytes: Buffer, target: SendTarget, ms: number): void {
    if (this.#servers.get(tx.key) === tx) this.#servers.delete(tx.key);
    // kept 32 s: a copy of its own, not a slice pinning a shared pool slab (util/byte-arena.ts)
    const kept = this.#kept.keep(bytes);
    this.#retiredServers.add(tx.key, this.clock.now() + ms, kept, target);
    this.#armSweep();
  }

  /** @internal A non-INVITE client transaction got its final over UDP: only swallows retransmissions for `ms` (timer K). */
  retireClient(tx: KeyedTransaction, ms: number): void {
    if (this.#clients.get(tx.key) === tx) this.#clients.delete(tx.key);
    this.#retiredClients.add(tx.key, this.clock.now() + ms);
    this.#armSweep();
  }

  #armSweep(): void {
    if (this.#sweep !== undefined) return;
    this.#sweep = this.clock.setTimer(SWEEP_MS, () => {
      this.#sweep = undefined;
      this.#sweepRetired();
    });
  }

  /** Drops the retired transactions whose timer ran out. */
  #sweepRetired(): void {
    const now = this.clock.now();
    const publish = channels.txState.hasSubscribers;
    this.#retiredServers.sweep(now, publish ? publishTerminated('nist') : undefined);
    this.#retiredClients.sweep(now, publish ? publishTerminated('nict') : undefined);
    const unindexed = this.retiredUnindexed;
    if (unindexed > this.#unindexedLogged && now - this.#unindexedLoggedAt >= 60_000) {
      this.logger.warn(
        { unindexed, since_last: unindexed - this.#unindexedLogged },
        'finished transactions not indexed: keys that share hash places (crafted branches?); their retransmissions are handled as new requests',
      );
      this.#unindexedLogged = unindexed;
      this.#unindexedLoggedAt = now;
    }
    // a count not yet logged keeps the sweep going until its line is due, even once the tables
    // are empty (an idle server after a burst still says what happened)
    if (
      this.#retiredServers.size > 0 ||
      this.#retiredClients.size > 0 ||
      unindexed > this.#unindexedLogged
    )
      this.#armSweep();
  }

  // ---- client side

  /**
   * Sends a request in a new client transaction. `branch` is the top Via branch the caller wrote
   * into `request`; `method` the CSeq method. A failure known at once is returned (and the
   * transaction is not kept); later failures reach `user.onFailure`.
   */
  sendRequest(
    request: Buffer,
    branch: string,
    method: string,
    target: SendTarget,
    user: ClientTransactionUser,
  ): { tx: ClientTransaction; result: SendResult } {
    const key = `${branch}|${method}`;
    const tx = new ClientTransaction(this, key, branch, method, request, target, user);
    this.#clients.set(key, tx);
    const result = tx.start();
    return { tx, result };
  }

  /** @internal */
  removeClient(tx: KeyedTransaction): void {
    if (this.#clients.get(tx.key) === tx) this.#clients.delete(tx.key);
  }

  /** Terminates every transaction (shutdown). */
  clear(): void {
    for (const tx of this.#servers.values()) tx.terminate();
    for (const tx of this.#clients.values()) tx.terminate();
    this.#retiredServers.clear();
    this.#retiredClients.clear();
    this.clock.clearTimer(this.#sweep);
    this.#sweep = undefined;
  }
}

function publishTerminated(kind: 'nist' | 'nict'): (key: string) => void {
  return (key) => channels.txState.publish({ key, kind, from: 'completed', to: 'terminated' });
}
