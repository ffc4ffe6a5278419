import { Hdr } from '../message/constants.js';
import type { EditList } from '../message/edits.js';
import { EditList as Edits, serialize } from '../message/edits.js';
import type { SipRequest } from '../message/message.js';
import type { Via } from '../message/parse/via.js';
import type { ListenerInfo, ReceiveInfo } from '../transport/types.js';
import { viaTransport } from '../transport/types.js';
import type { BranchHeaderGenerator, BranchTarget } from './context.js';
import { restAfterFirstValue } from './via.js';

/** Host and port a listener writes into Via / Record-Route / Path (advertised when configured). */
export function listenerHostPort(l: ListenerInfo): { host: string; port: number } {
  if (l.advertise !== undefined) return l.advertise;
  const host = l.family === 6 ? `[${l.address}]` : l.address;
  return { host, port: l.port };
}

/** The `sent-by` of our Via for a listener: port omitted when it is the transport's default. */
export function sentBy(l: ListenerInfo): string {
  const { host, port } = listenerHostPort(l);
  const dflt = l.proto === 'tls' || l.proto === 'wss' ? 5061 : 5060;
  return port === dflt ? host : `${host}:${port}`;
}

/**
 * The received top Via with `received` / `rport` filled in (RFC 3261 §18.2.1, RFC 3581 §4), or
 * undefined when nothing has to change.
 */
export function viaWithReceived(
  via: Via,
  info: ReceiveInfo,
  forceRport: boolean,
): string | undefined {
  return via.withReceived(info.remote.address, info.remote.port, forceRport);
}

export interface BranchBuild {
  readonly req: SipRequest;
  readonly info: ReceiveInfo;
  /** Message-wide edits from the script. */
  readonly edits: EditList;
  readonly headerGens: readonly BranchHeaderGenerator[];
  /** Max-Forwards already handled by the script (mf_process_maxfwd_header). */
  readonly maxForwardsDone: boolean;
  readonly forceRport: boolean;
}

/**
 * Writes the request for one branch (RFC 3261 §16.6): new Request-URI, Max-Forwards, the path
 * vector as Route headers, Record-Route / Path for the outgoing socket, received/rport on the
 * previous hop's Via, and our Via with the branch id on top.
 */
export function buildBranchRequest(
  b: BranchBuild,
  target: BranchTarget,
  out: ListenerInfo,
  branchId: string,
): Buffer {
  const { req } = b;
  const e = new Edits();
  // RFC 3261 §16.6 step 8: our Via on top
  const via = `Via: SIP/2.0/${viaTransport(out.proto)} ${sentBy(out)};branch=${branchId}`;
  const k0 = req.indexOf(Hdr.Via);
  const top = req.topVia;
  if (k0 >= 0 && top !== undefined) {
    const nv = viaWithReceived(top, b.info, b.forceRport);
    if (nv !== undefined && !b.edits.replaced?.has(k0)) {
      const rest = restAfterFirstValue(req.headerValueAt(k0));
      e.replaceHeader(k0, rest === undefined ? nv : `${nv}, ${rest}`);
    }
  }
  // generated headers that go to the very top (Record-Route) come before our Via (Kamailio order)
  const pathLines: string[] = [];
  for (const g of b.headerGens) {
    const lines = g(out, b.info, target);
    if (lines === undefined) continue;
    for (const h of lines) {
      if (h.where === 'top') e.insertTop(h.line);
      else pathLines.push(h.line);
    }
  }
  if (k0 >= 0) e.insertBefore(k0, via);
  else e.insertTop(via);
  // RFC 3261 §16.6 step 3: Max-Forwards
  if (!b.maxForwardsDone) {
    const mk = req.indexOf(Hdr.MaxForwards);
    const mf = req.maxForwards;
    if (mk < 0) {
      const at = afterVias(req);
      if (at >= 0) e.insertBefore(at, 'Max-Forwards: 70');
      else e.append('Max-Forwards: 70');
    } else if (mf !== undefined && !Number.isNaN(mf) && mf > 0) e.replaceHeader(mk, String(mf - 1));
  }
  if (target.uri !== req.uri) e.setRequestUri(target.uri);
  // RFC 3327 §5.3 / Kamailio path vector: stored Path values become the first Route headers
  if (target.path !== undefined && target.path.length > 0) {
    const rk = firstKept(req, b.edits, Hdr.Route);
    const at = rk >= 0 ? rk : afterVias(req);
    for (const p of target.path) {
      if (at >= 0) e.insertBefore(at, `Route: ${p}`);
      else e.append(`Route: ${p}`);
    }
  }
  if (pathLines.length > 0) {
    // Kamailio path: before the first Path header, else after the last header
    const pk = req.indexOf(Hdr.Path);
    for (const l of pathLines) {
      if (pk >= 0) e.insertBefore(pk, l);
      else e.append(l);
    }
  }
  return serialize(req, b.edits, e);
}

function firstKept(req: SipRequest, edits: EditList, name: Hdr): number {
  for (const k of req.indexesOf(name)) if (!edits.removed?.has(k)) return k;
  return -1;
}

function afterVias(req: SipRequest): number {
  let last = -1;
  for (const k of req.indexesOf(Hdr.Via)) last = k;
  return last + 1 < req.headerCount ? last + 1 : -1;
}
