// Shared pieces of the transport integration tests (not a test file).

import { createServer, type Server, type Socket } from 'node:net';
import { buildResponseBytes } from '../../../src/message/build.js';
import type { SipMessage, SipRequest } from '../../../src/message/message.js';
import { type TransportDeps, TransportLayer } from '../../../src/transport/transport-layer.js';
import type {
  FlowCloseReason,
  FlowInfo,
  ReceiveInfo,
  TransportConfig,
  TransportUser,
} from '../../../src/transport/types.js';
import { WAIT_MS, waitFor } from '../../support/net.js';

/** A TransportUser that records everything; optionally answers every request with 200 on its flow. */
export class RecordingUser implements TransportUser {
  readonly messages: { msg: SipMessage; info: ReceiveInfo }[] = [];
  readonly opened: FlowInfo[] = [];
  readonly closed: { flow: FlowInfo; reason: FlowCloseReason }[] = [];
  /** Set by {@link startLayer}: the layer replies go through. */
  layer: TransportLayer | undefined;
  autoReply: boolean;

  constructor(autoReply = false) {
    this.autoReply = autoReply;
  }

  onMessage(msg: SipMessage, info: ReceiveInfo): void {
    this.messages.push({ msg, info });
    if (
      this.autoReply &&
      msg.isRequest &&
      this.layer !== undefined &&
      (msg as SipRequest).method !== 'ACK'
    ) {
      this.layer.send(buildResponseBytes(msg as SipRequest, 200), { flowId: info.flowId });
    }
  }

  onFlowOpen(flow: FlowInfo): void {
    this.opened.push(flow);
  }

  onFlowClose(flow: FlowInfo, reason: FlowCloseReason): void {
    this.closed.push({ flow, reason });
  }

  /** Waits for the n-th message (1-based) and returns it. */
  async message(n: number, timeoutMs = WAIT_MS): Promise<{ msg: SipMessage; info: ReceiveInfo }> {
    await waitFor(() => this.messages.length >= n, timeoutMs, `message #${n}`);
    const m = this.messages[n - 1];
    if (m === undefined) throw new Error('missing message');
    return m;
  }

  /** Waits until the flow `id` has closed and returns the reason. */
  async closeOf(id: string, timeoutMs = WAIT_MS): Promise<FlowCloseReason> {
    await waitFor(() => this.closed.some((c) => c.flow.id === id), timeoutMs, `close of ${id}`);
    const c = this.closed.find((x) => x.flow.id === id);
    if (c === undefined) throw new Error('missing close');
    return c.reason;
  }

  /** Waits for the n-th opened flow (1-based). */
  async openedFlow(n: number, timeoutMs = WAIT_MS): Promise<FlowInfo> {
    await waitFor(() => this.opened.length >= n, timeoutMs, `flow open #${n}`);
    const f = this.opened[n - 1];
    if (f === undefined) throw new Error('missing flow');
    return f;
  }
}

/** Creates a layer with a RecordingUser and starts listening. */
export async function startLayer(
  config: TransportConfig,
  opts: { autoReply?: boolean; deps?: TransportDeps } = {},
): Promise<{ layer: TransportLayer; user: RecordingUser }> {
  const user = new RecordingUser(opts.autoReply ?? false);
  const layer = new TransportLayer(config, user, opts.deps ?? {});
  user.layer = layer;
  await layer.listen();
  return { layer, user };
}

let seq = 0;

/** A well-formed request. `via` is the Via transport token; `body` sets Content-Length. */
export function request(
  opts: {
    method?: string;
    via?: string;
    host?: string;
    body?: string;
    contentLength?: boolean;
    extra?: string[];
    callId?: string;
  } = {},
): string {
  const method = opts.method ?? 'OPTIONS';
  const n = ++seq;
  const body = opts.body ?? '';
  const host = opts.host ?? '192.0.2.10:5060';
  const lines = [
    `${method} sip:bob@example.com SIP/2.0`,
    `Via: SIP/2.0/${opts.via ?? 'UDP'} ${host};branch=z9hG4bK-t${n};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@example.com>;tag=f${n}`,
    'To: <sip:bob@example.com>',
    `Call-ID: ${opts.callId ?? `call-${n}@test`}`,
    `CSeq: ${n} ${method}`,
    ...(opts.extra ?? []),
  ];
  if (opts.contentLength !== false)
    lines.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The status line of a response text. */
export function statusLine(text: string): string {
  return text.slice(0, text.indexOf('\r\n'));
}

export { CapturingLogger, type LogLine } from '../../support/logger.js';

/** A plain TCP server standing in for a registrar: records the connections it gets and their bytes. */
export class TcpPeer {
  readonly server: Server;
  readonly sockets: Socket[] = [];
  readonly data = new Map<Socket, string>();

  private constructor(server: Server) {
    this.server = server;
    server.on('connection', (s) => {
      this.sockets.push(s);
      this.data.set(s, '');
      s.on('data', (b: Buffer) =>
        this.data.set(s, (this.data.get(s) ?? '') + b.toString('latin1')),
      );
      s.on('error', () => {});
    });
  }

  static start(host = '127.0.0.1'): Promise<TcpPeer> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, host, () => resolve(new TcpPeer(server)));
    });
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** Everything received on all connections, in connection order. */
  get text(): string {
    return this.sockets.map((s) => this.data.get(s) ?? '').join('');
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
