import { buildResponseBytes } from '../message/build.js';
import type { SipRequest } from '../message/message.js';
import type { ReceiveInfo, SendTarget } from '../transport/types.js';
import { isReliable, Proto } from '../transport/types.js';
import { responseTarget } from './response-target.js';
import { Transaction } from './transaction.js';
import { type ServerTransactionUser, type TransactionHost, TxState } from './types.js';

// timer slots
const G = 0; // response retransmission (INVITE, UDP)
const H_J_L = 1; // H: wait for ACK; J: absorb retransmissions; L: Accepted (RFC 6026)
const I = 2; // Confirmed -> Terminated

/**
 * A server transaction (RFC 3261 §17.2 with RFC 6026): absorbs request retransmissions by resending
 * the last response, retransmits INVITE non-2xx finals over UDP until the ACK arrives, and keeps
 * the exchange alive long enough to catch late retransmissions.
 */
export class ServerTransaction extends Transaction {
  #request: SipRequest | undefined;
  /** sent-by port of the request's top Via (kept after the request itself is released). */
  readonly #sentByPort: number | undefined;
  readonly info: ReceiveInfo;
  readonly isInvite: boolean;
  readonly method: string;
  #user: ServerTransactionUser | undefined;
  #target: SendTarget;
  #last: Buffer | undefined;
  #interval = 0;
  /** Status of the last response sent (0 = none). */
  lastStatus = 0;
  /** Free slot for the transaction user (the proxy keeps its response context here). */
  context: unknown;

  constructor(
    layer: TransactionHost,
    key: string,
    req: SipRequest,
    info: ReceiveInfo,
    user: ServerTransactionUser | undefined,
  ) {
    const invite = req.method === 'INVITE';
    super(layer, key, invite ? TxState.Proceeding : TxState.Trying);
    this.#request = req;
    this.#sentByPort = req.topVia?.port;
    this.info = info;
    this.isInvite = invite;
    this.method = req.method;
    this.#user = user;
    this.#target = responseTarget(req, info, layer.forceRport);
    // issue 12 §4: the connection the request came on is where its responses go (RFC 3261
    // §18.2.2): its idle lifetime must not close it while this transaction is in progress
    if (isReliable(info.proto)) layer.transport.holdFlow?.(info.flowId);
  }

  /**
   * The request; undefined once a final response has been sent (the transaction then only needs
   * its key and the last response, so a completed transaction costs little memory for its
   * remaining 64*T1 of life).
   */
  get request(): SipRequest | undefined {
    return this.#request;
  }

  get kind(): 'ist' | 'nist' {
    return this.isInvite ? 'ist' : 'nist';
  }

  get reliable(): boolean {
    return isReliable(this.info.proto);
  }

  setUser(user: ServerTransactionUser): void {
    this.#user = user;
  }

  /** True once a final response has been sent. */
  get finalSent(): boolean {
    return this.lastStatus >= 200;
  }

  /** Sends a locally generated response built from the request (RFC 3261 §8.2.6). */
  reply(
    status: number,
    reason?: string,
    headers?: readonly string[],
    body?: Buffer,
    toTag?: string,
  ): void {
    const req = this.#request;
    if (req === undefined) return; // a final was sent already: nothing local may follow
    // RFC 3261 §18.2.1 / RFC 3581 §4: the response's top Via says where the request came from
    const topVia = req.topVia?.withReceived(
      this.info.remote.address,
      this.info.remote.port,
      this.layer.forceRport,
    );
    this.respond(status, buildResponseBytes(req, status, { reason, headers, body, toTag, topVia }));
  }

  /** Sends a response (local or relayed) through the transaction (RFC 3261 §17.2.1 / §17.2.2). */
  respond(status: number, bytes: Buffer): void {
    const s = this.state;
    const t = this.layer.timers;
    if (this.isInvite) {
      if (s === TxState.Proceeding) {
        this.lastStatus = status;
        this.#last = bytes;
        this.#send(bytes);
        if (status >= 200 && status < 300) {
          // RFC 6026 §7.1: 2xx moves to Accepted; timer L keeps the transaction to absorb retransmissions
          this.setState(TxState.Accepted);
          this.startTimer(H_J_L, 64 * t.t1, () => this.setState(TxState.Terminated));
          // Accepted absorbs retransmissions without answering them: nothing more to keep
          this.#request = undefined;
          this.#last = undefined;
        } else if (status >= 300) {
          this.#request = undefined;
          this.setState(TxState.Completed);
          // RFC 3261 §26.3.2.4: a 401/407 is not retransmitted on timer G. Whoever forged the
          // request's source address would otherwise get eleven copies of it (an amplifier); a
          // real client that lost it retransmits its INVITE, which still gets the 401/407 again
          if (!this.reliable && status !== 401 && status !== 407) {
            // RFC 3261 §17.2.1 timer G: retransmit the final at T1, doubling up to T2
            this.#interval = t.t1;
            this.startTimer(G, this.#interval, () => this.#retransmitFinal());
          }
          // timer H: 64*T1 waiting for the ACK
          this.startTimer(H_J_L, 64 * t.t1, () => this.#ackTimeout());
        }
      } else if (s === TxState.Accepted && status >= 200 && status < 300) {
        // RFC 6026 §7.1: further 2xx (retransmissions or other forks) pass through Accepted
        this.#send(bytes);
      }
      return;
    }
    if (s !== TxState.Trying && s !== TxState.Proceeding) return;
    this.lastStatus = status;
    this.#last = bytes;
    this.#send(bytes);
    if (status < 200) this.setState(TxState.Proceeding);
    else {
      this.#request = undefined;
      this.setState(TxState.Completed);
      if (this.reliable) {
        // RFC 3261 §17.2.2 timer J: zero over reliable transports
        this.startTimer(H_J_L, 0, () => this.setState(TxState.Terminated));
        return;
      }
      // RFC 3261 §17.2.2 timer J (64*T1 over UDP): the layer keeps only the final's bytes, where
      // they go and the deadline; this object and what its user hung on it are let go now
      this.layer.retireServer(this, bytes, this.#target, 64 * t.t1);
      const user = this.#user;
      this.#user = undefined;
      this.context = undefined;
      this.#last = undefined;
      user?.onTerminated?.();
    }
  }

  #send(bytes: Buffer): void {
    let r = this.layer.transport.send(bytes, this.#target, (_c, m) =>
      this.#user?.onTransportError?.(m),
    );
    if (
      !r.ok &&
      r.code === 'SIP_ERR_FLOW_GONE' &&
      (this.info.proto === Proto.TCP || this.info.proto === Proto.TLS)
    ) {
      // RFC 3261 §18.2.2: the connection is gone; open a new one to the received address and sent-by port
      this.#target = {
        proto: this.info.proto,
        address: this.info.remote.address,
        port: this.#sentByPort ?? (this.info.proto === Proto.TLS ? 5061 : 5060),
      };
      r = this.layer.transport.send(bytes, this.#target, (_c, m) =>
        this.#user?.onTransportError?.(m),
      );
    }
    if (!r.ok) this.#user?.onTransportError?.(r.message);
  }

  #retransmitFinal(): void {
    if (this.state !== TxState.Completed || this.#last === undefined) return;
    this.#send(this.#last);
    this.#interval = Math.min(this.#interval * 2, this.layer.timers.t2);
    this.startTimer(G, this.#interval, () => this.#retransmitFinal());
  }

  #ackTimeout(): void {
    // RFC 3261 §17.2.1: timer H fired, the ACK never came
    const user = this.#user; // terminating lets go of it
    this.setState(TxState.Terminated);
    user?.onAckTimeout?.();
  }

  /** A request matched this transaction: a retransmission, or the ACK of a non-2xx final. */
  receiveRequest(req: SipRequest): void {
    const s = this.state;
    if (req.method === 'ACK') {
      if (this.isInvite && s === TxState.Completed) {
        // RFC 3261 §17.2.1: ACK -> Confirmed; timer I absorbs further ACKs (T4 over UDP, zero reliable)
        this.stopTimer(G);
        this.stopTimer(H_J_L);
        this.setState(TxState.Confirmed);
        this.startTimer(I, this.reliable ? 0 : this.layer.timers.t4, () =>
          this.setState(TxState.Terminated),
        );
      }
      return;
    }
    // RFC 3261 §17.2.1 / §17.2.2: a retransmitted request gets the last response again;
    // in Trying (non-INVITE) it is absorbed silently; RFC 6026: absorbed in Accepted.
    if (s === TxState.Proceeding || s === TxState.Completed) {
      if (this.#last !== undefined) this.#send(this.#last);
    }
  }

  protected onTerminated(): void {
    if (this.reliable) this.layer.transport.releaseFlow?.(this.info.flowId);
    this.layer.removeServer(this);
    this.#user?.onTerminated?.();
    // issue 12 §1: nothing of the request stays reachable from here. V8's Map links a replaced
    // hash table to its successor and keeps the entries it had, so a table promoted once keeps
    // the later ones, and the transactions in them, alive through scavenges.
    this.#user = undefined;
    this.#request = undefined;
    this.#last = undefined;
    this.context = undefined;
  }
}
