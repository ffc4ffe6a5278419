import type { SipRequest } from '../message/message.js';
import type { ReceiveInfo, SendTarget } from '../transport/types.js';
import { Proto } from '../transport/types.js';

/**
 * Where the responses to a request go (RFC 3261 §18.2.2, RFC 3581 §4): over the connection the
 * request came on for reliable transports; for UDP to the source address, and to the source port
 * when the top Via has `rport` (or `forceRport` is set, Kamailio `force_rport`), else to the
 * sent-by port (default 5060).
 */
export function responseTarget(req: SipRequest, info: ReceiveInfo, forceRport = false): SendTarget {
  if (info.proto !== Proto.UDP) return { flowId: info.flowId };
  const via = req.topVia;
  if (forceRport || via === undefined || via.params.has('rport')) return { flowId: info.flowId };
  return {
    proto: Proto.UDP,
    address: info.remote.address,
    port: via.port ?? 5060,
    listenerId: info.listener.id,
  };
}
