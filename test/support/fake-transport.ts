import type { SipMessage } from '../../src/message/message.js';
import { scanMessage } from '../../src/message/scanner.js';
import type {
  ListenerInfo,
  Proto,
  ReceiveInfo,
  SendErrorCallback,
  SendResult,
  SendTarget,
} from '../../src/transport/types.js';

export interface Sent {
  buf: Buffer;
  target: SendTarget;
  msg: SipMessage;
  onError: SendErrorCallback | undefined;
}

/** Builds a listener description for tests. */
export function listener(proto: Proto, address = '127.0.0.1', port = 5060, id = 0): ListenerInfo {
  return { id, proto, address, port, family: address.includes(':') ? 6 : 4, advertise: undefined };
}

/** A ReceiveInfo for a message injected from `remote`. */
export function recvInfo(
  proto: Proto,
  remote = '192.0.2.1:5070',
  l: ListenerInfo = listener(proto),
): ReceiveInfo {
  const i = remote.lastIndexOf(':');
  const address = remote.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(remote.slice(i + 1));
  const flowId = proto === 'udp' ? `w0/u${l.id}/${remote}` : `w0/c-${remote}`;
  return {
    proto,
    local: { address: l.address, port: l.port },
    remote: { address, port },
    flowId,
    listener: l,
    secure: proto === 'tls' || proto === 'wss',
  };
}

/**
 * Records every message the layer under test sends, without sockets (fastify's inject idea).
 * `failWith` makes the next sends fail synchronously; `closedFlows` makes flow sends fail.
 */
export class FakeTransport {
  readonly sent: Sent[] = [];
  readonly closedFlows = new Set<string>();
  failWith: SendResult | undefined;

  send(buf: Buffer, target: SendTarget, onError?: SendErrorCallback): SendResult {
    if (this.failWith !== undefined) return this.failWith;
    if ('flowId' in target && this.closedFlows.has(target.flowId)) {
      return { ok: false, code: 'SIP_ERR_FLOW_GONE', message: `flow ${target.flowId} is gone` };
    }
    const r = scanMessage(buf);
    if (!r.ok)
      throw new Error(`layer sent an unparsable message: ${r.error.message}\n${buf.toString()}`);
    this.sent.push({ buf, target, msg: r.msg, onError });
    const flowId =
      'flowId' in target ? target.flowId : `${target.proto}:${target.address}:${target.port}`;
    const l =
      'flowId' in target
        ? target.flowId.includes('/u')
          ? listener('udp')
          : listener('tcp')
        : listener(target.proto);
    return { ok: true, flowId, listener: l };
  }

  /** Messages sent since the last call (and forget them). */
  take(): Sent[] {
    return this.sent.splice(0, this.sent.length);
  }

  /** Start lines of what was sent since the last call. */
  lines(): string[] {
    return this.take().map((s) => s.msg.toString().split('\r\n')[0] ?? '');
  }
}
