import { MAGIC_COOKIE } from '../message/constants.js';
import type { SipMessage, SipRequest } from '../message/message.js';
import { viaBranch, viaSentBy } from '../message/parse/via.js';

/**
 * Server transaction key (RFC 3261 §17.2.3). With a magic-cookie branch: branch + sent-by + method,
 * ACK counting as INVITE. Without one (RFC 2543 peers): Request-URI, From tag, Call-ID, CSeq number,
 * top Via and method. Returns undefined for a request that cannot be matched (no Via/CSeq).
 */
export function serverKey(req: SipRequest): string | undefined {
  const via = req.topVia;
  if (via === undefined) return undefined;
  const method = req.method === 'ACK' ? 'INVITE' : req.method;
  const branch = viaBranch(via);
  if (branch?.startsWith(MAGIC_COOKIE)) return `${branch}|${viaSentBy(via)}|${method}`;
  const cseq = req.cseq;
  if (cseq === undefined) return undefined;
  return `2543|${req.uri}|${req.fromTag ?? ''}|${req.callId ?? ''}|${cseq.seq}|${via.raw}|${method}`;
}

/** Key of the INVITE server transaction a CANCEL refers to (RFC 3261 §9.2). */
export function inviteKeyForCancel(cancel: SipRequest): string | undefined {
  const via = cancel.topVia;
  if (via === undefined) return undefined;
  const branch = viaBranch(via);
  if (branch?.startsWith(MAGIC_COOKIE)) return `${branch}|${viaSentBy(via)}|INVITE`;
  const cseq = cancel.cseq;
  if (cseq === undefined) return undefined;
  return `2543|${cancel.uri}|${cancel.fromTag ?? ''}|${cancel.callId ?? ''}|${cseq.seq}|${via.raw}|INVITE`;
}

/** Client transaction key (RFC 3261 §17.1.3): top Via branch + CSeq method. */
export function clientKey(msg: SipMessage): string | undefined {
  const via = msg.topVia;
  const method = msg.cseq?.method;
  if (via === undefined || method === undefined) return undefined;
  const branch = viaBranch(via);
  if (branch === undefined) return undefined;
  return `${branch}|${method === 'ACK' ? 'INVITE' : method}`;
}
