import type { Connection } from './connection.js';
import { hostPort } from './ip.js';
import {
  type Address,
  type FlowId,
  type FlowInfo,
  FlowState,
  type ListenerInfo,
  Proto,
  type ReceiveInfo,
} from './types.js';

/**
 * A UDP flow (RFC 5626 §3: listening socket + remote address:port). It is virtual: there is no
 * socket per flow, and it stays valid while its listener is open. The table keeps one entry per
 * peer seen, for `ReceiveInfo` reuse and the keep-alive bookkeeping of `flowgate ctl`.
 */
export class UdpFlow {
  readonly id: FlowId;
  readonly listener: ListenerInfo;
  readonly remote: Address;
  readonly openedAt: number;
  lastActivity: number;
  lastKeepalive: number | undefined;
  readonly receiveInfo: ReceiveInfo;

  constructor(id: FlowId, listener: ListenerInfo, remote: Address, now: number) {
    this.id = id;
    this.listener = listener;
    this.remote = remote;
    this.openedAt = now;
    this.lastActivity = now;
    this.lastKeepalive = undefined;
    const local = { address: listener.address, port: listener.port };
    this.receiveInfo = { proto: Proto.UDP, local, remote, flowId: id, listener, secure: false };
  }

  info(): FlowInfo {
    return {
      id: this.id,
      proto: Proto.UDP,
      local: this.receiveInfo.local,
      remote: this.remote,
      listener: this.listener,
      secure: false,
      openedAt: this.openedAt,
      lastActivity: this.lastActivity,
      lastKeepalive: this.lastKeepalive,
      state: FlowState.Open,
      outgoing: false,
    };
  }
}

/** The id of a UDP flow: `w<worker>/u<listener>/<ip>:<port>` (IPv6 in brackets). */
export function udpFlowId(
  workerId: number,
  listenerId: number,
  address: string,
  port: number,
): FlowId {
  return `w${workerId}/u${listenerId}/${hostPort(address, port)}`;
}

/** The parts of a UDP flow id, or undefined when `id` is not one. */
export function parseUdpFlowId(
  id: FlowId,
): { workerId: number; listenerId: number; address: string; port: number } | undefined {
  const m = /^w(\d+)\/u(\d+)\/(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(
    id,
  );
  if (m === null) return undefined;
  const port = Number(m[5]);
  if (port < 1 || port > 65535) return undefined;
  return { workerId: Number(m[1]), listenerId: Number(m[2]), address: m[3] ?? m[4] ?? '', port };
}

/** Most UDP peers tracked at once; the oldest entries go first. */
export const MAX_UDP_FLOWS = 100_000;
/** A UDP entry idle this long may be forgotten (it is re-created on the next packet). */
export const UDP_FLOW_IDLE_MS = 3_600_000;

/**
 * The live flows of this worker: connections by id and by (proto, remote ip:port), and the UDP
 * peers seen. Per-process state; a multi-process step can route by the worker in the id.
 */
export class FlowTable {
  readonly #conns = new Map<FlowId, Connection>();
  readonly #byRemote = new Map<string, Connection[]>();
  readonly #udp = new Map<FlowId, UdpFlow>();

  get connectionCount(): number {
    return this.#conns.size;
  }

  get udpCount(): number {
    return this.#udp.size;
  }

  addConnection(c: Connection): void {
    this.#conns.set(c.id, c);
    const k = remoteKey(c.proto, c.remote.address, c.remote.port);
    const list = this.#byRemote.get(k);
    if (list === undefined) this.#byRemote.set(k, [c]);
    else list.push(c);
  }

  removeConnection(c: Connection): void {
    if (this.#conns.get(c.id) !== c) return;
    this.#conns.delete(c.id);
    const k = remoteKey(c.proto, c.remote.address, c.remote.port);
    const list = this.#byRemote.get(k);
    if (list === undefined) return;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#byRemote.delete(k);
  }

  getConnection(id: FlowId): Connection | undefined {
    return this.#conns.get(id);
  }

  /**
   * An open (or connecting) connection to `address:port` over `proto`, the newest first; with
   * `listenerId`, only one belonging to that listener.
   */
  findConnection(
    proto: Proto,
    address: string,
    port: number,
    listenerId?: number,
  ): Connection | undefined {
    const list = this.#byRemote.get(remoteKey(proto, address, port));
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i];
      if (c === undefined || !c.usable) continue;
      if (listenerId !== undefined && c.listener.id !== listenerId) continue;
      return c;
    }
    return undefined;
  }

  connections(): IterableIterator<Connection> {
    return this.#conns.values();
  }

  getUdp(id: FlowId): UdpFlow | undefined {
    return this.#udp.get(id);
  }

  /** The entry for `id`, created when new (evicting old idle entries, and the oldest over the cap). */
  touchUdp(
    id: FlowId,
    listener: ListenerInfo,
    address: string,
    port: number,
    now: number,
  ): UdpFlow {
    let f = this.#udp.get(id);
    if (f !== undefined) {
      f.lastActivity = now;
      return f;
    }
    this.#evictUdp(now);
    f = new UdpFlow(id, listener, { address, port }, now);
    this.#udp.set(id, f);
    return f;
  }

  udpFlows(): IterableIterator<UdpFlow> {
    return this.#udp.values();
  }

  /** Forgets the UDP entries of a listener (it closed). */
  dropUdpListener(listenerId: number): void {
    for (const [id, f] of this.#udp) if (f.listener.id === listenerId) this.#udp.delete(id);
  }

  // Looks at the two oldest entries per insert: idle ones go, active ones move to the back. This
  // bounds the table without a sweep timer.
  #evictUdp(now: number): void {
    for (let k = 0; k < 2; k++) {
      const first = this.#udp.entries().next();
      if (first.done === true) return;
      const [id, f] = first.value;
      const full = this.#udp.size >= MAX_UDP_FLOWS;
      this.#udp.delete(id);
      if (!full && now - f.lastActivity < UDP_FLOW_IDLE_MS) this.#udp.set(id, f);
    }
  }
}

function remoteKey(proto: Proto, address: string, port: number): string {
  return `${proto}|${address}|${port}`;
}
