import { Hdr } from '../message/constants.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { scanMessage } from '../message/scanner.js';
import type { ListenerInfo, ReceiveInfo, SendResult, SendTarget } from '../transport/types.js';
import { isReliable } from '../transport/types.js';
import { Transaction } from './transaction.js';
import { type ClientTransactionUser, type TransactionHost, TxFailure, TxState } from './types.js';

/**
 * The user of a transaction that no longer passes anything up. A finished transaction drops its
 * real user: that one's closures reach the whole proxy transaction of the request.
 */
const DONE: ClientTransactionUser = { onResponse() {}, onFailure() {} };

// timer slots
const A_E = 0; // retransmission: A (INVITE) / E (non-INVITE)
const B_F = 1; // timeout: B / F
const D_K_M = 2; // wait: D / K / M

/**
 * A client transaction (RFC 3261 §17.1 with RFC 6026): sends a request, retransmits it over UDP,
 * times out, and hands responses to its user. INVITE and non-INVITE differ in a few rules, kept
 * side by side here with the RFC section at each branch.
 */
export class ClientTransaction extends Transaction {
  readonly method: string;
  readonly isInvite: boolean;
  #request: Buffer | undefined;
  readonly branch: string;
  #user: ClientTransactionUser;
  #target: SendTarget;
  #reliable = false;
  #interval = 0;
  #listener: ListenerInfo | undefined;
  #ack: Buffer | undefined;
  #parsed: SipRequest | undefined;
  /** The connection flow this transaction holds open while it is in progress (issue 12 §4). */
  #held: string | undefined;
  /** Last response status seen (0 = none). */
  lastStatus = 0;

  constructor(
    layer: TransactionHost,
    key: string,
    branch: string,
    method: string,
    request: Buffer,
    target: SendTarget,
    user: ClientTransactionUser,
  ) {
    super(layer, key, method === 'INVITE' ? TxState.Calling : TxState.Trying);
    this.method = method;
    this.isInvite = method === 'INVITE';
    this.#request = request;
    this.branch = branch;
    this.#target = target;
    this.#user = user;
  }

  get kind(): 'ict' | 'nict' {
    return this.isInvite ? 'ict' : 'nict';
  }

  /** The flow used once the request is sent (retransmissions and the ACK use the same one). */
  get target(): SendTarget {
    return this.#target;
  }

  get listener(): ListenerInfo | undefined {
    return this.#listener;
  }

  get reliable(): boolean {
    return this.#reliable;
  }

  /**
   * The bytes sent, kept for retransmissions and for building the ACK / CANCEL; released once a
   * final response arrived, so a finished transaction waiting out timer D/K/M costs little memory.
   */
  get request(): Buffer | undefined {
    return this.#request;
  }

  /** The sent request, scanned on demand. */
  get parsedRequest(): SipRequest | undefined {
    if (this.#parsed === undefined && this.#request !== undefined) {
      const r = scanMessage(this.#request);
      if (r.ok && r.msg.isRequest) this.#parsed = r.msg as SipRequest;
    }
    return this.#parsed;
  }

  /** Sends the request and starts the timers. A failure known at once is returned, not reported. */
  start(): SendResult {
    const req = this.#request;
    if (req === undefined) throw new Error('client transaction started twice');
    const res = this.layer.transport.send(req, this.#target, (c, m) => this.#onSendError(c, m));
    if (!res.ok) {
      this.setState(TxState.Terminated);
      return res;
    }
    this.#listener = res.listener;
    this.#reliable = isReliable(res.listener.proto);
    this.#target = { flowId: res.flowId };
    if (this.#reliable) {
      // the responses come back on this connection: its idle lifetime waits for them
      this.#held = res.flowId;
      this.layer.transport.holdFlow?.(res.flowId);
    }
    const t = this.layer.timers;
    if (!this.#reliable) {
      // RFC 3261 §17.1.1.2 timer A / §17.1.2.2 timer E start at T1
      this.#interval = t.t1;
      this.startTimer(A_E, this.#interval, () => this.#retransmit());
    }
    // RFC 3261 timer B / F (64*T1 in the RFC; Kamailio fr_timer)
    this.startTimer(B_F, t.frTimer, () => this.#timeout());
    return res;
  }

  #onSendError(_code: string, message: string): void {
    if (this.state === TxState.Terminated) return;
    const kind = _code === 'SIP_ERR_FLOW_GONE' ? TxFailure.FlowGone : TxFailure.Transport;
    const user = this.#user; // terminating lets go of it
    this.setState(TxState.Terminated);
    user.onFailure(kind, message);
  }

  #retransmit(): void {
    const s = this.state;
    if (s !== TxState.Calling && s !== TxState.Trying && s !== TxState.Proceeding) return;
    if (this.#request === undefined) return;
    const r = this.layer.transport.send(this.#request, this.#target, (c, m) =>
      this.#onSendError(c, m),
    );
    if (!r.ok) {
      this.#onSendError(r.code, r.message);
      return;
    }
    const t = this.layer.timers;
    if (this.isInvite) {
      // RFC 3261 §17.1.1.2: timer A doubles each time, with no cap (flowgate decision Q-T1)
      this.#interval *= 2;
    } else {
      // RFC 3261 §17.1.2.2: E doubles up to T2 in Trying; in Proceeding it is T2
      this.#interval = s === TxState.Proceeding ? t.t2 : Math.min(this.#interval * 2, t.t2);
    }
    this.startTimer(A_E, this.#interval, () => this.#retransmit());
  }

  #timeout(): void {
    const s = this.state;
    // RFC 3261 §17.1.1.2: timer B only applies before any response (Calling); after a provisional
    // the proxy's own timer C (fr_inv_timer) decides.
    if (this.isInvite ? s !== TxState.Calling : s !== TxState.Trying && s !== TxState.Proceeding)
      return;
    const user = this.#user;
    this.setState(TxState.Terminated);
    user.onFailure(TxFailure.Timeout, this.isInvite ? 'timer B fired' : 'timer F fired');
  }

  /** A response matched this transaction (RFC 3261 §17.1.3). */
  receiveResponse(res: SipResponse, info: ReceiveInfo): void {
    const status = res.status;
    const s = this.state;
    const t = this.layer.timers;
    if (this.isInvite) {
      if (s === TxState.Calling || s === TxState.Proceeding) {
        this.lastStatus = status;
        if (status < 200) {
          // RFC 3261 §17.1.1.2: a provisional stops retransmissions (and timer B)
          this.stopTimer(A_E);
          this.stopTimer(B_F);
          this.setState(TxState.Proceeding);
        } else if (status < 300) {
          // RFC 6026 §7.2: 2xx moves to Accepted; timer M absorbs/forwards further 2xx
          this.stopTimer(A_E);
          this.stopTimer(B_F);
          this.setState(TxState.Accepted);
          this.startTimer(D_K_M, 64 * t.t1, () => this.setState(TxState.Terminated));
        } else {
          // RFC 3261 §17.1.1.3: the transaction itself ACKs a non-2xx final
          this.stopTimer(A_E);
          this.stopTimer(B_F);
          this.#sendAck(res);
          this.setState(TxState.Completed);
          this.startTimer(D_K_M, this.#reliable ? 0 : Math.max(32_000, 64 * t.t1), () =>
            this.setState(TxState.Terminated),
          );
        }
        this.#user.onResponse(res, info);
        if (status >= 200) this.#release();
      } else if (s === TxState.Accepted) {
        if (status >= 200 && status < 300) this.#user.onResponse(res, info);
      } else if (s === TxState.Completed) {
        // RFC 3261 §17.1.1.2: a retransmitted final is answered with the ACK again, not passed up
        if (status >= 300) this.#resendAck();
      }
      return;
    }
    if (s !== TxState.Trying && s !== TxState.Proceeding) return; // Completed absorbs retransmissions
    this.lastStatus = status;
    if (status < 200) {
      this.setState(TxState.Proceeding);
    } else {
      this.stopTimer(A_E);
      this.stopTimer(B_F);
      this.setState(TxState.Completed);
      // RFC 3261 §17.1.2.2 timer K: zero over reliable transports; T4 over UDP, for which the
      // layer keeps only the key and the deadline (retransmitted responses are swallowed there)
      if (this.#reliable) this.startTimer(D_K_M, 0, () => this.setState(TxState.Terminated));
      else this.layer.retireClient(this, t.t4);
    }
    this.#user.onResponse(res, info);
    // RFC 3261 §17.1.2.2: Completed only absorbs retransmitted finals, nothing goes up any more
    if (status >= 200) {
      this.#release();
      this.#user = DONE;
    }
  }

  /**
   * After the final: only the ACK (non-2xx INVITE) is still needed. The INVITE's user stays until
   * the transaction ends (RFC 6026 §7.2: Accepted passes further 2xx up).
   */
  #release(): void {
    this.#request = undefined;
    this.#parsed = undefined;
    if (this.isInvite && this.state !== TxState.Accepted) this.#user = DONE;
  }

  #sendAck(res: SipResponse): void {
    const req = this.parsedRequest;
    if (req === undefined) return;
    this.#ack = buildNon2xxAck(req, res);
    this.#resendAck();
  }

  #resendAck(): void {
    if (this.#ack !== undefined) this.layer.transport.send(this.#ack, this.#target);
  }

  protected onTerminated(): void {
    if (this.#held !== undefined) this.layer.transport.releaseFlow?.(this.#held);
    this.#held = undefined;
    this.layer.removeClient(this);
    // issue 12 §1: let go of everything the request hung on this object. The layer's table no
    // longer holds it, but V8's Map keeps a replaced hash table's entries (it links each old
    // table to its successor), and an old table promoted once keeps every later one, with the
    // transactions in them, alive through scavenges: what they reference must be small.
    this.#release();
    this.#ack = undefined;
    this.#user = DONE;
  }
}

/**
 * The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same Request-URI, top Via, From,
 * Call-ID and Route set as the INVITE, To from the response, CSeq number with method ACK.
 */
export function buildNon2xxAck(req: SipRequest, res: SipResponse): Buffer {
  let out = `ACK ${req.uri} SIP/2.0\r\n`;
  const viaK = req.indexOf(Hdr.Via);
  const top = req.topVia;
  if (viaK >= 0 && top !== undefined) out += `Via: ${top.raw}\r\n`;
  out += `Max-Forwards: 70\r\n`;
  for (const k of req.indexesOf(Hdr.Route)) out += `Route: ${req.headerValueAt(k)}\r\n`;
  const from = req.getHeader(Hdr.From);
  if (from !== undefined) out += `From: ${from}\r\n`;
  const to = res.getHeader(Hdr.To);
  if (to !== undefined) out += `To: ${to}\r\n`;
  out += `Call-ID: ${req.callId ?? ''}\r\n`;
  out += `CSeq: ${req.cseq?.seq ?? 0} ACK\r\n`;
  out += 'Content-Length: 0\r\n\r\n';
  return Buffer.from(out, 'latin1');
}

/**
 * A CANCEL for a request sent by a client transaction (RFC 3261 §9.1): same Request-URI, top Via
 * (so the same branch), From, To, Call-ID, CSeq number and Route set.
 */
export function buildCancel(req: SipRequest, extraHeaders: readonly string[] = []): Buffer {
  let out = `CANCEL ${req.uri} SIP/2.0\r\n`;
  const top = req.topVia;
  if (top !== undefined) out += `Via: ${top.raw}\r\n`;
  out += `Max-Forwards: 70\r\n`;
  for (const k of req.indexesOf(Hdr.Route)) out += `Route: ${req.headerValueAt(k)}\r\n`;
  const from = req.getHeader(Hdr.From);
  if (from !== undefined) out += `From: ${from}\r\n`;
  const to = req.getHeader(Hdr.To);
  if (to !== undefined) out += `To: ${to}\r\n`;
  out += `Call-ID: ${req.callId ?? ''}\r\n`;
  out += `CSeq: ${req.cseq?.seq ?? 0} CANCEL\r\n`;
  for (const h of extraHeaders) out += `${h}\r\n`;
  out += 'Content-Length: 0\r\n\r\n';
  return Buffer.from(out, 'latin1');
}
