import { Hdr } from '../message/constants.js';
import { splitCommaOffsets } from '../message/parse/split.js';
import { parseUri, SipUri } from '../message/parse/uri.js';
import type { ListenerInfo } from '../transport/types.js';
import { Proto } from '../transport/types.js';
import type { BranchTarget, RequestContext } from './context.js';
import type { BranchBuild } from './forward.js';
import type { NextHop } from './resolver.js';
import type { ProxyTransport } from './types.js';

/*
 * Next-hop choice (RFC 3261 §16.6 steps 7–8, RFC 3263): which URI decides where a branch goes,
 * and which listener it leaves from. Used by stateful branches and stateless ACK forwarding.
 */

/** The URI that decides the next hop: `$du`, else the first remaining Route (loose router), else the R-URI (RFC 3261 §16.6 step 7). */
export function hopUri(ctx: RequestContext, t: BranchTarget): SipUri | undefined {
  let text = t.du;
  if (text === undefined && t.path !== undefined && t.path.length > 0)
    text = uriOf(t.path[0] as string);
  if (text === undefined) {
    // RFC 3261 §16.6 step 7: a remaining loose-routing Route decides the next hop
    const ks = ctx.req.indexesOf(Hdr.Route);
    const list = ks.length > 0 ? ctx.req.addressList(Hdr.Route) : undefined;
    if (list !== undefined) {
      // the address list is in header order; skip the values of removed headers
      let idx = 0;
      for (const k of ks) {
        const n = splitCommaOffsets(ctx.req.headerValueAt(k)).length / 2;
        if (!ctx.edits.removed?.has(k)) {
          const first = list[idx];
          if (first !== undefined && first.uri instanceof SipUri && first.uri.hasParam('lr'))
            text = first.uriText;
          break;
        }
        idx += n;
      }
    }
  }
  text ??= t.uri;
  const r = parseUri(text);
  return r.ok && r.value instanceof SipUri ? r.value : undefined;
}

/** The listener a request to `h` leaves from: the target's own when it fits, else the transport's choice. */
export function selectOut(
  transport: ProxyTransport,
  h: NextHop,
  t: BranchTarget,
): ListenerInfo | undefined {
  if (t.listenerId !== undefined) {
    const l = transport.listeners.find((x) => x.id === t.listenerId);
    if (
      l !== undefined &&
      (l.proto === h.proto || (h.proto === Proto.TCP && l.proto === Proto.TCP))
    )
      return l;
  }
  const fam = h.address.includes(':') ? 6 : 4;
  // several listeners: the one that fits the destination, whatever their order in the file
  return transport.selectListener(h.proto, fam, h.address);
}

/** What {@link selectOut} must learn first about the route to `h`, when the target does not name a listener. */
export function learnRoute(
  transport: ProxyTransport,
  h: NextHop,
  t: BranchTarget,
): Promise<void> | undefined {
  if (t.listenerId !== undefined) return undefined;
  return transport.learnRoute?.(h.proto, h.address);
}

/** What `buildBranchRequest` needs of a request context. */
export function branchInput(ctx: RequestContext, forceRport: boolean): BranchBuild {
  return {
    req: ctx.req,
    info: ctx.info,
    edits: ctx.edits,
    headerGens: ctx.headerGens,
    maxForwardsDone: ctx.maxForwardsDone,
    forceRport,
  };
}

/** A next hop in logs: `udp:192.0.2.1:5060`. */
export function hopText(h: NextHop): string {
  return `${h.proto}:${h.address.includes(':') ? `[${h.address}]` : h.address}:${h.port}`;
}

/** The URI of a name-addr (`<sip:…>`), or the text before its parameters. */
function uriOf(nameAddr: string): string {
  const lt = nameAddr.indexOf('<');
  const gt = nameAddr.indexOf('>', lt + 1);
  return lt >= 0 && gt > lt ? nameAddr.slice(lt + 1, gt) : (nameAddr.split(';')[0] ?? nameAddr);
}
