import type { SipParseError } from '../errors/sip-error.js';
import { buildResponseBytes } from '../message/build.js';
import { Hdr } from '../message/constants.js';
import type { SipMessage, SipRequest } from '../message/message.js';
import { scanMessage } from '../message/scanner.js';
import { channels } from '../util/diagnostics.js';
import type { Connection } from './connection.js';
import type { LayerState, UdpRuntime } from './layer-state.js';
import type { MessageOutEvent } from './message-events.js';
import { type FramingError, FramingErrorCode } from './stream-framer.js';
import { DropReason, FlowCloseReason, type ReceiveInfo } from './types.js';

/*
 * Stateless error replies of the transport (RFC 3261 §18.3, §21.4): a malformed request that can
 * still be answered gets a response with the error's status where it came from; a stream that
 * cannot be framed gets one before its connection is closed.
 */

export function reject(
  s: LayerState,
  error: SipParseError,
  msg: SipMessage | undefined,
  info: ReceiveInfo,
  conn: Connection | undefined,
  udp: UdpRuntime | undefined,
): void {
  const ctx = {
    flowId: info.flowId,
    remote: info.remote.address,
    code: error.code,
    why: error.message,
  };
  if (msg === undefined) {
    s.drop(DropReason.Garbage, 'info', ctx, 'unparsable bytes dropped');
    return;
  }
  if (!msg.isRequest) {
    // RFC 3261 §18.1.2 / §16.7: a malformed response is discarded, never answered
    s.drop(DropReason.BadResponse, 'info', ctx, 'malformed response dropped');
    return;
  }
  const req = msg as SipRequest;
  const reply = replyable(req) ? errorReply(req, error.status, error.reason, info) : undefined;
  if (reply === undefined) {
    s.drop(DropReason.BadRequest, 'info', ctx, 'malformed request dropped (no reply possible)');
    return;
  }
  s.drop(
    DropReason.BadRequest,
    'info',
    { ...ctx, status: error.status },
    'malformed request answered',
  );
  sendReply(s, reply, info, conn, udp);
}

/** Builds a stateless error response, or undefined when it cannot be built. */
function errorReply(
  req: SipRequest,
  status: number,
  reason: string,
  info: ReceiveInfo,
): Buffer | undefined {
  const top = req.topVia;
  if (top === undefined) return undefined;
  try {
    return buildResponseBytes(req, status, {
      reason: cleanReason(reason),
      topVia: top.withReceived(info.remote.address, info.remote.port),
    });
  } catch {
    return undefined;
  }
}

/**
 * Sends a stateless reply where the request came from: over the same connection, or for UDP to
 * the packet's source address and port (RFC 3581 §4 behaviour, so NATed clients get it).
 */
function sendReply(
  s: LayerState,
  bytes: Buffer,
  info: ReceiveInfo,
  conn: Connection | undefined,
  udp: UdpRuntime | undefined,
): void {
  s.counters.errorReplies++;
  s.counters.messagesOut[info.proto]++;
  if (conn !== undefined) conn.write(bytes);
  else if (udp?.open === true) udp.socket.send(bytes, info.remote.port, info.remote.address);
  if (channels.messageOut.hasSubscribers)
    channels.messageOut.publish({
      buf: bytes,
      flowId: info.flowId,
      proto: info.proto,
      listener: info.listener,
      remote: info.remote,
      local: conn?.local ?? info.local,
    } satisfies MessageOutEvent);
}

/** A stream that cannot be framed: a 400/513 when its head is a readable request, then the connection is closed. */
export function onFramingError(s: LayerState, conn: Connection, e: FramingError): void {
  try {
    const ctx = { flowId: conn.id, remote: conn.remote.address, framing: e.code, why: e.detail };
    let replied = false;
    if (e.header !== undefined && e.status >= 400) {
      // RFC 3261 §18.3: a stream message without Content-Length gets 400 (if it is a readable
      // request), then the connection is closed: the stream cannot be re-synchronised
      const r = scanMessage(e.header, s.settings.limits, false);
      const msg = r.msg;
      if (msg?.isRequest === true && replyable(msg as SipRequest)) {
        const reason =
          e.code === FramingErrorCode.MissingContentLength
            ? 'Missing Content-Length'
            : e.status === 513
              ? 'Message Too Large'
              : 'Bad Content-Length';
        const bytes = errorReply(msg as SipRequest, e.status, reason, conn.receiveInfo);
        if (bytes !== undefined) {
          sendReply(s, bytes, conn.receiveInfo, conn, undefined);
          replied = true;
        }
      }
    }
    s.drop(
      DropReason.Framing,
      'info',
      { ...ctx, replied },
      'stream framing error; closing connection',
    );
    const overflow =
      e.code === FramingErrorCode.Overflow || e.code === FramingErrorCode.HeaderTooLarge;
    conn.close(overflow ? FlowCloseReason.Overflow : FlowCloseReason.ProtocolError);
  } catch (err) {
    s.internalError(err);
    conn.close(FlowCloseReason.ProtocolError);
  }
}

/**
 * A request can be answered statelessly when a response can be matched and routed: the top Via
 * and CSeq parse, and Call-ID, From and To are present (a response copies them verbatim, RFC 3261
 * §8.2.6.2). Never an ACK (RFC 3261 §17.1.1.3: ACK gets no response).
 */
function replyable(req: SipRequest): boolean {
  return (
    req.method !== 'ACK' &&
    req.method.length > 0 &&
    req.topVia !== undefined &&
    req.cseq !== undefined &&
    req.callId !== undefined &&
    req.hasHeader(Hdr.From) &&
    req.hasHeader(Hdr.To)
  );
}

/** A reason phrase is text without CR/LF (RFC 3261 §25.1 Reason-Phrase). */
function cleanReason(reason: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  return reason.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 128);
}
