import type { Socket } from 'node:net';
import { channels } from '../util/diagnostics.js';
import type { Connection } from './connection.js';
import { parseUdpFlowId } from './flow-table.js';
import { canonicalIp, ipFamily } from './ip.js';
import {
  errText,
  fail,
  type LayerState,
  type ListenerRuntime,
  noop,
  type UdpRuntime,
} from './layer-state.js';
import type { MessageOutEvent } from './message-events.js';
import { pickListener as pickByRoute } from './route-source.js';
import { StreamConnection, StreamStart } from './stream-connection.js';
import { connectTcp, isWildcard } from './tcp.js';
import { connectTls } from './tls.js';
import {
  type Address,
  type FlowId,
  Proto,
  RefuseReason,
  type SendErrorCallback,
  type SendResult,
  type SendTarget,
} from './types.js';

/*
 * The send path of a TransportLayer (RFC 3261 §18.1.1, RFC 5626 §5.3): to a flow, exactly that
 * flow; to an address, UDP from the listener that fits, or an open connection reused, or a new
 * TCP/TLS one. Synchronous: the result says at once whether a socket took the bytes.
 */

export function sendToFlow(
  s: LayerState,
  buf: Buffer,
  id: FlowId,
  onError: SendErrorCallback | undefined,
): SendResult {
  const conn = s.table.getConnection(id);
  if (conn !== undefined) return writeConn(s, conn, buf, onError);
  const u = parseUdpFlowId(id);
  if (u !== undefined) {
    if (u.workerId !== s.settings.workerId)
      return fail('SIP_ERR_FLOW_GONE', `flow ${id} belongs to worker ${u.workerId}`);
    const rt = s.runtimes.find((r) => r.info.id === u.listenerId);
    // RFC 5626 §3: a UDP flow lives as long as its listening socket
    if (rt?.kind !== 'udp' || !rt.open)
      return fail('SIP_ERR_FLOW_GONE', `flow ${id}: its UDP listener is closed`);
    return sendUdp(s, rt, buf, canonicalIp(u.address), u.port, onError);
  }
  return fail('SIP_ERR_FLOW_GONE', `flow ${id} is closed`);
}

/** To an address: UDP from a fitting listener; TCP/TLS over an open connection or a new one; WS/WSS only over an open one. */
export function sendToAddress(
  s: LayerState,
  buf: Buffer,
  t: Exclude<SendTarget, { readonly flowId: FlowId }>,
  onError: SendErrorCallback | undefined,
): SendResult {
  const family = ipFamily(t.address);
  if (family === 0)
    return fail('SIP_ERR_TRANSPORT_SEND', `'${t.address}' is not an IP address (resolve it first)`);
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535)
    return fail('SIP_ERR_TRANSPORT_SEND', `bad port ${t.port}`);
  const address = canonicalIp(t.address);
  if (t.proto === Proto.UDP) {
    const rt = pickListener(s, Proto.UDP, family, t.listenerId, address);
    if (rt?.kind !== 'udp')
      return fail('SIP_ERR_TRANSPORT_UNSUPPORTED', `no UDP listener for IPv${family}`);
    return sendUdp(s, rt, buf, address, t.port, onError);
  }
  const existing = s.table.findConnection(t.proto, address, t.port, t.listenerId);
  if (existing !== undefined) return writeConn(s, existing, buf, onError);
  if (t.proto === Proto.WS || t.proto === Proto.WSS) {
    return fail(
      'SIP_ERR_TRANSPORT_UNSUPPORTED',
      `no ${t.proto.toUpperCase()} connection to ${address}:${t.port} (outgoing WebSocket is not supported)`,
    );
  }
  return connect(s, buf, t.proto, { address, port: t.port }, family, t.listenerId, onError);
}

/** The listener `listenerId` when given, else the one that fits `dest`. */
function pickListener(
  s: LayerState,
  proto: Proto,
  family: 4 | 6,
  listenerId: number | undefined,
  dest: string,
): ListenerRuntime | undefined {
  if (listenerId === undefined) return choose(s, proto, family, dest);
  for (const r of s.runtimes)
    if (r.open && r.info.proto === proto && r.info.id === listenerId) return r;
  return undefined;
}

/** The open listeners of `proto` (and `family`). */
export function candidates(
  s: LayerState,
  proto: Proto,
  family: 4 | 6 | undefined,
): ListenerRuntime[] {
  return s.runtimes.filter(
    (r) => r.open && r.info.proto === proto && (family === undefined || r.info.family === family),
  );
}

/** The listener of `proto` to send from towards `dest` (route-source.ts decides among several; cached per destination). */
export function choose(
  s: LayerState,
  proto: Proto,
  family: 4 | 6 | undefined,
  dest: string | undefined,
): ListenerRuntime | undefined {
  // the common case, one listener of the kind: no allocation on the send path
  let first: ListenerRuntime | undefined;
  let several = false;
  for (const r of s.runtimes) {
    if (!r.open || r.info.proto !== proto || (family !== undefined && r.info.family !== family))
      continue;
    if (first !== undefined) {
      several = true;
      break;
    }
    first = r;
  }
  if (!several || dest === undefined) return first;
  let picks = s.picks.get(proto);
  const hit = picks?.get(dest);
  if (hit?.open === true && (family === undefined || hit.info.family === family)) return hit;
  if (ipFamily(dest) === 0) return first;
  const c = candidates(s, proto, family);
  const d = canonicalIp(dest);
  const l = pickByRoute(
    c.map((r) => r.info),
    d,
    s.routes.source(d),
  );
  const chosen = c.find((r) => r.info === l) ?? first;
  if (picks === undefined || picks.size >= 4096) {
    picks = new Map();
    s.picks.set(proto, picks);
  }
  if (chosen !== undefined) picks.set(dest, chosen);
  return chosen;
}

/** A datagram from listener `rt`; the peer's flow is created or refreshed. */
function sendUdp(
  s: LayerState,
  rt: UdpRuntime,
  buf: Buffer,
  address: string,
  port: number,
  onError: SendErrorCallback | undefined,
): SendResult {
  const flow = s.udpFlow(rt, address, port);
  try {
    if (onError !== undefined) {
      rt.socket.send(buf, port, address, (err) => {
        if (err) onError('SIP_ERR_TRANSPORT_SEND', err.message);
      });
    } else rt.socket.send(buf, port, address);
  } catch (err) {
    return fail('SIP_ERR_TRANSPORT_SEND', errText(err));
  }
  s.counters.messagesOut.udp++;
  if (channels.messageOut.hasSubscribers)
    channels.messageOut.publish({
      buf,
      flowId: flow.id,
      proto: Proto.UDP,
      listener: rt.info,
      remote: { address, port },
      local: rt.info,
    } satisfies MessageOutEvent);
  return { ok: true, flowId: flow.id, listener: rt.info };
}

/** Writes to a connection (queued while it connects); a full send buffer or a closed flow fails at once. */
function writeConn(
  s: LayerState,
  conn: Connection,
  buf: Buffer,
  onError: SendErrorCallback | undefined,
): SendResult {
  const code = conn.write(buf, onError);
  if (code !== undefined)
    return fail(
      code,
      code === 'SIP_ERR_FLOW_GONE'
        ? `flow ${conn.id} is closed`
        : `flow ${conn.id}: send buffer full`,
    );
  s.counters.messagesOut[conn.proto]++;
  if (channels.messageOut.hasSubscribers)
    channels.messageOut.publish({
      buf,
      flowId: conn.id,
      proto: conn.proto,
      listener: conn.listener,
      remote: conn.remote,
      local: conn.local,
    } satisfies MessageOutEvent);
  return { ok: true, flowId: conn.id, listener: conn.listener };
}

/** Opens a TCP or TLS connection from a fitting listener (outgoing cap permitting) and queues `buf` on it. */
function connect(
  s: LayerState,
  buf: Buffer,
  proto: Proto,
  remote: Address,
  family: 4 | 6,
  listenerId: number | undefined,
  onError: SendErrorCallback | undefined,
): SendResult {
  const rt = pickListener(s, proto, family, listenerId, remote.address);
  if (rt === undefined)
    return fail(
      'SIP_ERR_TRANSPORT_UNSUPPORTED',
      `no ${proto.toUpperCase()} listener for IPv${family}`,
    );
  const tlsCfg = s.tls;
  if (proto === Proto.TLS && tlsCfg === undefined)
    return fail('SIP_ERR_TRANSPORT_UNSUPPORTED', 'TLS needs the `tls` config');
  // Outgoing connections have a budget of their own (issue 10): accepted ones cannot starve them
  if (s.limiter.acquireOutgoing() !== undefined) {
    s.counters.refused(RefuseReason.LimitOutgoing);
    s.rl.log(
      s.logger,
      'warn',
      `refused-${RefuseReason.LimitOutgoing}`,
      { remote: remote.address, port: remote.port, cause: RefuseReason.LimitOutgoing },
      'transport: outgoing connection refused by cap',
    );
    return fail(
      'SIP_ERR_TRANSPORT_LIMIT',
      `outgoing connection cap (${s.settings.maxOutgoingConnections}) reached`,
    );
  }
  const local = isWildcard(rt.info.address) ? undefined : rt.info.address;
  let socket: Socket;
  try {
    socket =
      proto === Proto.TLS && tlsCfg !== undefined
        ? connectTls(remote, tlsCfg, local)
        : connectTcp(remote, local);
  } catch (err) {
    s.limiter.release(undefined);
    return fail('SIP_ERR_TRANSPORT_SEND', errText(err));
  }
  socket.on('error', noop);
  s.track(socket, undefined);
  s.counters.connectionsOpened++;
  const conn = new StreamConnection(
    s.host,
    {
      id: s.ids.next(),
      proto,
      listener: rt.info,
      outgoing: true,
      remote,
      local: { address: rt.info.address, port: 0 },
      acceptedAt: undefined,
    },
    socket,
    proto === Proto.TLS ? StreamStart.TlsConnecting : StreamStart.Connecting,
  );
  s.table.addConnection(conn);
  conn.start();
  return writeConn(s, conn, buf, onError);
}
