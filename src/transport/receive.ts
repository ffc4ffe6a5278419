import type { RemoteInfo } from 'node:dgram';
import { scanMessage } from '../message/scanner.js';
import { validateMessage } from '../message/validate.js';
import { channels } from '../util/diagnostics.js';
import type { Connection } from './connection.js';
import { reject } from './error-reply.js';
import { errText, type LayerState, type UdpRuntime } from './layer-state.js';
import type { MessageInEvent } from './message-events.js';
import { answerStun } from './stun.js';
import {
  DropReason,
  FlowCloseReason,
  type FlowId,
  KeepaliveKind,
  Proto,
  type ReceiveInfo,
} from './types.js';
import { classifyDatagram, DatagramKind } from './udp.js';

/*
 * The receive path of a TransportLayer: a UDP datagram (or STUN / keep-alive) or one framed
 * stream message → scan → validate → TransportUser.onMessage; flow open/close events go up too.
 */

export function onDatagram(s: LayerState, rt: UdpRuntime, buf: Buffer, rinfo: RemoteInfo): void {
  try {
    if (rinfo.port === 0) {
      s.drop(
        DropReason.SourcePort0,
        'debug',
        { remote: rinfo.address },
        'UDP datagram from source port 0',
      );
      return;
    }
    switch (classifyDatagram(buf)) {
      case DatagramKind.Stun:
        onStun(s, rt, buf, rinfo);
        return;
      case DatagramKind.Blank:
        // RFC 5626 §3.5.1: the CRLF keep-alive is for streams only; on UDP it gets no answer
        s.drop(
          DropReason.Crlf,
          'debug',
          { remote: rinfo.address },
          'UDP CRLF/blank datagram ignored',
        );
        return;
      case DatagramKind.Runt:
        s.drop(
          DropReason.Runt,
          'debug',
          { remote: rinfo.address, bytes: buf.length },
          'UDP datagram too short for SIP',
        );
        return;
      default: {
        const flow = s.udpFlow(rt, rinfo.address, rinfo.port);
        receive(s, buf, flow.receiveInfo, undefined, rt, false);
      }
    }
  } catch (err) {
    s.internalError(err);
  }
}

/** A STUN binding request on a SIP port: answered; a success counts as the flow's keep-alive. */
function onStun(s: LayerState, rt: UdpRuntime, buf: Buffer, rinfo: RemoteInfo): void {
  const out = answerStun(
    buf,
    { address: rinfo.address, port: rinfo.port },
    { software: s.settings.stunSoftware },
  );
  if (out.kind === 'ignore') {
    s.drop(
      DropReason.StunIgnored,
      'debug',
      { remote: rinfo.address, why: out.why },
      'STUN datagram ignored',
    );
    return;
  }
  s.counters.stunRequests++;
  if (!rt.open) return;
  rt.socket.send(out.response, rinfo.port, rinfo.address);
  const flow = s.udpFlow(rt, rinfo.address, rinfo.port);
  if (out.kind === 'success') {
    flow.lastKeepalive = s.clock.now();
    onKeepalive(s, flow.id, Proto.UDP, KeepaliveKind.Stun);
  } else {
    s.rl.log(
      s.logger,
      'debug',
      `stun-error-${out.code}`,
      { remote: rinfo.address, code: out.code },
      'transport: STUN error response sent',
    );
  }
}

/** One message framed out of a connection's stream (or one WebSocket frame). */
export function onConnMessage(s: LayerState, conn: Connection, buf: Buffer): void {
  try {
    receive(
      s,
      buf,
      conn.receiveInfo,
      conn,
      undefined,
      conn.proto === Proto.TCP || conn.proto === Proto.TLS,
    );
  } catch (err) {
    s.internalError(err);
  }
}

/**
 * One message's worth of bytes → scan → validate → the layer above. A bad request whose Via,
 * From, To, Call-ID and CSeq are readable gets a stateless reply with the error's status; the
 * rest is dropped and logged (rate-limited). A response is never answered.
 */
function receive(
  s: LayerState,
  buf: Buffer,
  info: ReceiveInfo,
  conn: Connection | undefined,
  udp: UdpRuntime | undefined,
  stream: boolean,
): void {
  const r = scanMessage(buf, s.settings.limits, stream);
  if (!r.ok) {
    reject(s, r.error, r.msg, info, conn, udp);
    return;
  }
  const msg = r.msg;
  const bad = validateMessage(msg);
  if (bad !== undefined) {
    reject(s, bad, msg, info, conn, udp);
    return;
  }
  s.counters.messagesIn[info.proto]++;
  if (channels.messageIn.hasSubscribers)
    channels.messageIn.publish({ msg, info } satisfies MessageInEvent);
  try {
    s.user.onMessage(msg, info);
  } catch (err) {
    s.drop(
      DropReason.UserError,
      'error',
      { flowId: info.flowId, err: errText(err) },
      'onMessage threw',
    );
  }
}

/** A keep-alive (CRLFCRLF, STUN, WebSocket pong) seen on a flow: counted and published. */
export function onKeepalive(
  s: LayerState,
  flowId: FlowId,
  proto: Proto,
  kind: KeepaliveKind,
): void {
  s.counters.keepalives[kind]++;
  if (channels.keepalive.hasSubscribers) channels.keepalive.publish({ flowId, proto, kind });
}

/** A connection became a flow (after its handshake): the layer above is told. */
export function onConnOpened(s: LayerState, conn: Connection): void {
  const info = conn.info();
  if (channels.flowOpen.hasSubscribers) channels.flowOpen.publish(info);
  const cb = s.user.onFlowOpen;
  if (cb === undefined) return;
  try {
    cb.call(s.user, info);
  } catch (err) {
    s.drop(
      DropReason.UserError,
      'error',
      { flowId: conn.id, err: errText(err) },
      'onFlowOpen threw',
    );
  }
}

/** A connection closed: it leaves the table; the layer above is told when it had been open. */
export function onConnClosed(
  s: LayerState,
  conn: Connection,
  reason: FlowCloseReason,
  wasOpen: boolean,
): void {
  s.table.removeConnection(conn);
  s.counters.connectionsClosed[reason]++;
  if (reason !== FlowCloseReason.Remote && reason !== FlowCloseReason.Local) {
    const why = conn.closeDetail;
    s.rl.log(
      s.logger,
      'info',
      `close-${reason}`,
      {
        flowId: conn.id,
        remote: conn.remote.address,
        reason,
        ...(why !== undefined ? { why } : {}),
      },
      'transport: connection closed',
    );
  }
  if (!wasOpen) return;
  const info = conn.info();
  if (channels.flowClose.hasSubscribers) channels.flowClose.publish({ flow: info, reason });
  const cb = s.user.onFlowClose;
  if (cb === undefined) return;
  try {
    cb.call(s.user, info, reason);
  } catch (err) {
    s.drop(
      DropReason.UserError,
      'error',
      { flowId: conn.id, err: errText(err) },
      'onFlowClose threw',
    );
  }
}
