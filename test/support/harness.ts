import type { SipMessage, SipRequest, SipResponse } from '../../src/message/message.js';
import { scanMessage } from '../../src/message/scanner.js';
import { createServer, type FlowgateServer, type ServerOptions } from '../../src/server.js';
import type {
  Address,
  FlowCloseReason,
  FlowInfo,
  ListenerInfo,
  Proto,
  ReceiveInfo,
  SendErrorCallback,
  SendResult,
  SendTarget,
} from '../../src/transport/types.js';
import { ManualClock } from '../../src/util/clock.js';

export interface Sent {
  readonly buf: Buffer;
  readonly target: SendTarget;
  readonly msg: SipMessage;
  /** Where it went: a flow id, or `proto:address:port`. */
  readonly to: string;
  readonly listener: ListenerInfo;
  readonly onError: SendErrorCallback | undefined;
}

/**
 * A transport without sockets for in-process tests of the proxy, registrar and scripts (fastify's
 * inject): listeners are declared, connections are simulated, everything sent is recorded.
 */
export class HarnessTransport {
  readonly listeners: ListenerInfo[];
  readonly sent: Sent[] = [];
  readonly #flows = new Map<string, FlowInfo>();
  #n = 0;
  /** Make sends to these addresses (`proto:ip:port`) fail at once with a transport error. */
  readonly unreachable = new Set<string>();

  constructor(listeners: ListenerInfo[]) {
    this.listeners = listeners;
  }

  send(buf: Buffer, target: SendTarget, onError?: SendErrorCallback): SendResult {
    const r = scanMessage(buf);
    if (!r.ok)
      throw new Error(`sent an unparsable message: ${r.error.message}\n${buf.toString('latin1')}`);
    let listener: ListenerInfo | undefined;
    let to: string;
    if ('flowId' in target) {
      const f = this.#flows.get(target.flowId) ?? this.#udpFlow(target.flowId);
      if (f === undefined)
        return { ok: false, code: 'SIP_ERR_FLOW_GONE', message: `flow ${target.flowId} is gone` };
      listener = f.listener;
      to = target.flowId;
    } else {
      const key = `${target.proto}:${target.address}:${target.port}`;
      if (this.unreachable.has(key))
        return { ok: false, code: 'SIP_ERR_TRANSPORT_SEND', message: `${key} unreachable` };
      listener =
        (target.listenerId !== undefined
          ? this.listeners.find((l) => l.id === target.listenerId)
          : undefined) ?? this.selectListener(target.proto, target.address.includes(':') ? 6 : 4);
      if (listener === undefined)
        return {
          ok: false,
          code: 'SIP_ERR_TRANSPORT_UNSUPPORTED',
          message: `no ${target.proto} listener`,
        };
      to = `w0/u${listener.id}/${target.address.includes(':') ? `[${target.address}]` : target.address}:${target.port}`;
      if (target.proto !== 'udp') {
        const existing = this.findConnection(target.proto, {
          address: target.address,
          port: target.port,
        });
        const f =
          existing ??
          this.connect(
            target.proto,
            { address: target.address, port: target.port },
            listener.id,
            true,
          );
        to = f.id;
      }
    }
    this.sent.push({ buf, target, msg: r.msg, to, listener, onError });
    const flowId = 'flowId' in target ? target.flowId : to;
    return { ok: true, flowId, listener };
  }

  #udpFlow(id: string): FlowInfo | undefined {
    const m = /^w0\/u(\d+)\/(.+):(\d+)$/.exec(id);
    if (m === null) return undefined;
    const l = this.listeners.find((x) => x.id === Number(m[1]));
    if (l === undefined) return undefined;
    return this.#info(
      id,
      'udp',
      l,
      { address: (m[2] as string).replace(/^\[|\]$/g, ''), port: Number(m[3]) },
      false,
    );
  }

  #info(id: string, proto: Proto, l: ListenerInfo, remote: Address, outgoing: boolean): FlowInfo {
    return {
      id,
      proto,
      local: { address: l.address, port: l.port },
      remote,
      listener: l,
      secure: proto === 'tls' || proto === 'wss',
      openedAt: 0,
      lastActivity: 0,
      lastKeepalive: undefined,
      state: 'open',
      outgoing,
    };
  }

  selectListener(proto: Proto, family: 4 | 6 = 4): ListenerInfo | undefined {
    return (
      this.listeners.find((l) => l.proto === proto && l.family === family) ??
      this.listeners.find((l) => l.proto === proto)
    );
  }

  getFlow(id: string): FlowInfo | undefined {
    return this.#flows.get(id) ?? this.#udpFlow(id);
  }

  findConnection(proto: Proto, remote: Address, localListenerId?: number): FlowInfo | undefined {
    for (const f of this.#flows.values()) {
      if (
        f.proto === proto &&
        f.remote.address === remote.address &&
        f.remote.port === remote.port &&
        (localListenerId === undefined || f.listener.id === localListenerId)
      )
        return f;
    }
    return undefined;
  }

  /** Simulates a connection (accepted, or opened when `outgoing`). */
  connect(proto: Proto, remote: Address, listenerId: number, outgoing = false): FlowInfo {
    const l = this.listeners.find((x) => x.id === listenerId);
    if (l === undefined) throw new Error(`no listener ${listenerId}`);
    const f = this.#info(`w0/c${++this.#n}`, proto, l, remote, outgoing);
    this.#flows.set(f.id, f);
    return f;
  }

  /** Simulates the end of a connection. */
  disconnect(id: string): void {
    this.#flows.delete(id);
  }

  /** Everything sent since the last call. */
  take(): Sent[] {
    return this.sent.splice(0, this.sent.length);
  }
}

export function listener(id: number, proto: Proto, address: string, port: number): ListenerInfo {
  return { id, proto, address, port, family: address.includes(':') ? 6 : 4, advertise: undefined };
}

export interface Harness {
  readonly server: FlowgateServer;
  readonly transport: HarnessTransport;
  readonly clock: ManualClock;
  /** Injects a message as if received from `from` (`ip:port`) on listener `listenerId` (or over `flowId`). */
  inject(raw: string | Buffer, from: string, opts?: { listenerId?: number; flowId?: string }): void;
  /** Sent messages since the last call. */
  take(): Sent[];
  /** Waits for pending promises (async routes) to settle. */
  settle(): Promise<void>;
  /** Ends a simulated connection and tells the element why (flow-close event). */
  closeFlow(id: string, reason: FlowCloseReason): void;
}

/** Creates an element over a {@link HarnessTransport}; listeners default to UDP+TCP 127.0.0.1:5060. */
export function harness(
  opts: Partial<ServerOptions> & { listeners?: ListenerInfo[] } = {},
): Harness {
  const transport = new HarnessTransport(
    opts.listeners ?? [
      listener(0, 'udp', '127.0.0.1', 5060),
      listener(1, 'tcp', '127.0.0.1', 5060),
    ],
  );
  const clock = opts.clock instanceof ManualClock ? opts.clock : new ManualClock();
  const server = createServer({ listen: [], ...opts, clock, transportOverride: transport });
  return {
    server,
    transport,
    clock,
    inject(raw, from, o = {}) {
      const buf =
        typeof raw === 'string' ? Buffer.from(raw.replace(/\r?\n/g, '\r\n'), 'latin1') : raw;
      const r = scanMessage(buf);
      if (!r.ok) throw new Error(`inject: ${r.error.message}`);
      const i = from.lastIndexOf(':');
      const remote = {
        address: from.slice(0, i).replace(/^\[|\]$/g, ''),
        port: Number(from.slice(i + 1)),
      };
      let info: ReceiveInfo;
      if (o.flowId !== undefined) {
        const f = transport.getFlow(o.flowId);
        if (f === undefined) throw new Error(`inject: no flow ${o.flowId}`);
        info = {
          proto: f.proto,
          local: f.local,
          remote: f.remote,
          flowId: f.id,
          listener: f.listener,
          secure: f.secure,
        };
      } else {
        const l = transport.listeners.find((x) => x.id === (o.listenerId ?? 0));
        if (l === undefined) throw new Error('inject: no listener');
        if (l.proto !== 'udp') throw new Error('inject: use a flowId for connection transports');
        info = {
          proto: 'udp',
          local: { address: l.address, port: l.port },
          remote,
          flowId: `w0/u${l.id}/${from}`,
          listener: l,
          secure: false,
        };
      }
      server.layer.onMessage(r.msg, info);
    },
    take: () => transport.take(),
    closeFlow(id, reason) {
      const f = transport.getFlow(id);
      transport.disconnect(id);
      if (f !== undefined) server.layer.onFlowClose({ ...f, state: 'closed' }, reason);
    },
    async settle() {
      for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    },
  };
}

/** First line of a sent message. */
export function firstLine(s: Sent): string {
  return s.msg.toString().split('\r\n')[0] ?? '';
}

export type { SipRequest, SipResponse };
