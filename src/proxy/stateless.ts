import { buildResponseBytes, fnv1a, statelessToTag } from '../message/build.js';
import { Hdr } from '../message/constants.js';
import { EditList, serialize } from '../message/edits.js';
import type { SipResponse } from '../message/message.js';
import { responseTarget } from '../transaction/response-target.js';
import type { ListenerInfo, SendTarget } from '../transport/types.js';
import { Proto, protoFromToken } from '../transport/types.js';
import type { RequestContext } from './context.js';
import { buildBranchRequest, viaWithReceived } from './forward.js';
import { branchInput, hopUri, learnRoute, selectOut } from './next-hop.js';
import type { NextHop, Resolver } from './resolver.js';
import type { NextHopSet, ProxyTransport } from './types.js';
import { restAfterFirstValue } from './via.js';

/*
 * What the proxy does without a transaction (Kamailio sl and stateless forwarding): replies to a
 * request, the ACK of a 2xx sent on end to end, and responses relayed by their Via.
 */

/** What stateless processing needs of the proxy core (`ProxyCore` is one). */
export interface StatelessHost {
  readonly transport: ProxyTransport;
  readonly resolver: Resolver;
  readonly forceRport: boolean;
  localHeaders(extra?: readonly string[]): string[];
  countReply(status: number): void;
  nextHopSet(du: string | undefined): NextHopSet | undefined;
}

/** `sl_send_reply`: stateless reply to the request (RFC 3261 §16.2 / §8.2.6). */
export function replyStateless(
  host: StatelessHost,
  ctx: RequestContext,
  status: number,
  reason?: string,
  headers?: readonly string[],
): number {
  const req = ctx.req;
  if (req.method === 'ACK') return -1; // RFC 3261 §17: an ACK is never answered
  const top = req.topVia;
  const topVia = top === undefined ? undefined : viaWithReceived(top, ctx.info, host.forceRport);
  const bytes = buildResponseBytes(req, status, {
    reason,
    topVia,
    toTag: statelessToTag(req),
    headers: host.localHeaders(headers),
  });
  const r = host.transport.send(bytes, responseTarget(req, ctx.info, host.forceRport));
  if (status >= 200) ctx.finalSent = true;
  host.countReply(status);
  return r.ok ? 1 : -1;
}

/** Stateless forwarding of an ACK for a 2xx (RFC 3261 §16.11 / §13.2.2.4: end to end). */
export function forwardAck(host: StatelessHost, ctx: RequestContext): number {
  const transport = host.transport;
  const target = ctx.ruriTarget();
  const top = ctx.req.topVia;
  // RFC 3261 §16.11: a stateless branch id derived from the incoming one
  const branchId = `z9hG4bK${fnv1a(`${top?.params.get('branch') ?? ''}|${ctx.req.callId}`)}.ack`;
  const go = (out: ListenerInfo, st: SendTarget): void => {
    const buf = buildBranchRequest(branchInput(ctx, host.forceRport), target, out, branchId);
    transport.send(buf, st);
  };
  if (target.flowId !== undefined) {
    const f = transport.getFlow(target.flowId);
    if (f === undefined) return -1;
    go(f.listener, { flowId: target.flowId });
    return 1;
  }
  const hop = hopUri(ctx, target);
  if (hop === undefined) return -1;
  const set = host.nextHopSet(target.du);
  const n = set === undefined ? host.resolver.resolveNumeric(hop) : undefined;
  const send = (h: NextHop): void => {
    const wait = learnRoute(transport, h, target);
    if (wait !== undefined) {
      wait.then(() => send2(h), noop);
      return;
    }
    send2(h);
  };
  const send2 = (h: NextHop): void => {
    const out = selectOut(transport, h, target);
    if (out !== undefined)
      go(out, { proto: h.proto, address: h.address, port: h.port, listenerId: out.id });
  };
  const first = (hops: NextHop[]): void => {
    if (hops[0] !== undefined) send(hops[0]);
  };
  if (n !== undefined) send(n);
  else if (set !== undefined) {
    // the ACK of a 2xx is no transaction: it goes to the first hop of the set that is up
    const plan = set.plan(ctx.req, target.uri);
    if (Array.isArray(plan)) first(plan);
    else plan.then(first, noop);
  } else host.resolver.resolve(hop).then(first, noop);
  return 1;
}

/** Relays a response by its Via without a transaction (RFC 3261 §16.11). */
export function forwardResponseStateless(
  transport: ProxyTransport,
  res: SipResponse,
  edits: EditList,
): void {
  const vias = res.vias;
  if (vias === undefined || vias.length < 2) return;
  const k = res.indexOf(Hdr.Via);
  const e = new EditList();
  const rest = restAfterFirstValue(res.headerValueAt(k));
  if (rest === undefined) e.removeHeader(k);
  else e.replaceHeader(k, rest);
  const next = vias[1];
  if (next === undefined) return;
  const proto = protoFromToken(next.transport) ?? Proto.UDP;
  const rcv = next.params.get('received');
  const rport = next.params.get('rport');
  const address = typeof rcv === 'string' ? rcv : next.host.replace(/^\[|\]$/g, '');
  const port = typeof rport === 'string' && rport !== '' ? Number(rport) : (next.port ?? 5060);
  const conn = proto === Proto.UDP ? undefined : transport.findConnection(proto, { address, port });
  const target: SendTarget = conn !== undefined ? { flowId: conn.id } : { proto, address, port };
  transport.send(serialize(res, e, edits), target);
}

function noop(): void {}
