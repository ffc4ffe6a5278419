import type { RemoteInfo } from 'node:dgram';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { InvalidArgumentError } from '../errors/sip-error.js';
import { ipFamily } from './ip.js';
import {
  type LayerState,
  type ListenerRuntime,
  noop,
  type StreamRuntime,
  type UdpRuntime,
} from './layer-state.js';
import { onDatagram } from './receive.js';
import { StreamConnection, StreamStart } from './stream-connection.js';
import { closeStream, createStreamServer, listenStream } from './tcp.js';
import { wrapServerSocket } from './tls.js';
import { FlowCloseReason, type ListenConfig, type ListenerInfo, Proto } from './types.js';
import { bindUdp, closeUdp } from './udp.js';
import { WsAcceptor, WsConnection } from './ws.js';

/*
 * The listeners of a TransportLayer: binding UDP sockets and TCP/TLS/WS/WSS servers, accepting
 * connections (under the connection caps) into flows, and closing them all.
 */

/** Binds listener `id` of the config; its datagrams and connections go to the receive path. */
export async function openListener(
  s: LayerState,
  id: number,
  lc: ListenConfig,
): Promise<ListenerRuntime> {
  const family = ipFamily(lc.address);
  if (family === 0)
    throw new InvalidArgumentError(
      `transport: listen address must be an IP literal, got '${lc.address}'`,
    );
  const advertise = lc.advertise;
  if (lc.proto === Proto.UDP) {
    const { socket, bound } = await bindUdp(lc.address, lc.port, family);
    const info: ListenerInfo = Object.freeze({
      id,
      proto: lc.proto,
      address: bound.address,
      port: bound.port,
      family,
      advertise,
    });
    const rt: UdpRuntime = {
      kind: 'udp',
      info,
      socket,
      flowPrefix: `w${s.settings.workerId}/u${id}/`,
      open: true,
    };
    socket.on('message', (buf: Buffer, rinfo: RemoteInfo) => onDatagram(s, rt, buf, rinfo));
    socket.on('error', (err: Error) => {
      s.rl.log(
        s.logger,
        'warn',
        `udp-error-${id}`,
        { listener: id, err: err.message },
        'transport: UDP socket error',
      );
    });
    socket.on('close', () => {
      rt.open = false;
    });
    return rt;
  }
  let rtRef: StreamRuntime | undefined;
  const server = createStreamServer(
    (sock) => {
      if (rtRef !== undefined) onAccept(s, rtRef, sock);
      else sock.destroy();
    },
    (err) =>
      s.rl.log(
        s.logger,
        'warn',
        `listen-error-${id}`,
        { listener: id, err: err.message },
        'transport: listener error',
      ),
  );
  const bound = await listenStream(server, lc.address, lc.port);
  const info: ListenerInfo = Object.freeze({
    id,
    proto: lc.proto,
    address: bound.address,
    port: bound.port,
    family,
    advertise,
  });
  const isWs = lc.proto === Proto.WS || lc.proto === Proto.WSS;
  const ws = isWs
    ? new WsAcceptor(s.host, (sock, raw, _req, acceptedAt) =>
        onWebSocket(s, info, sock, raw, acceptedAt),
      )
    : undefined;
  rtRef = { kind: 'stream', info, server, ws, open: true };
  return rtRef;
}

function onAccept(s: LayerState, rt: StreamRuntime, socket: Socket): void {
  socket.on('error', noop); // until a connection owns it
  try {
    accept(s, rt, socket);
  } catch (err) {
    s.internalError(err);
    socket.destroy();
  }
}

/** An accepted TCP/TLS/WS/WSS socket, under the connection caps: a flow (WS after its upgrade). */
function accept(s: LayerState, rt: StreamRuntime, socket: Socket): void {
  const ip = socket.remoteAddress;
  const port = socket.remotePort;
  if (s.state !== 'listening' || ip === undefined || port === undefined) {
    socket.destroy();
    return;
  }
  const refused = s.limiter.acquire(ip);
  if (refused !== undefined) {
    s.counters.refused(refused);
    s.rl.log(
      s.logger,
      'warn',
      `refused-${refused}`,
      { remote: ip, cause: refused },
      'transport: connection refused by cap',
    );
    socket.destroy();
    return;
  }
  s.track(socket, ip);
  s.counters.connectionsAccepted++;
  const now = s.clock.now();
  const info = rt.info;
  switch (info.proto) {
    case Proto.TCP:
    case Proto.TLS: {
      const tlsCfg = s.tls;
      const tlsCtx = s.tlsCtx;
      const secure = info.proto === Proto.TLS;
      if (secure && (tlsCfg === undefined || tlsCtx === undefined)) {
        socket.destroy();
        return;
      }
      const sock =
        secure && tlsCfg !== undefined && tlsCtx !== undefined
          ? wrapServerSocket(socket, tlsCtx, tlsCfg)
          : socket;
      const conn = new StreamConnection(
        s.host,
        {
          id: s.ids.next(),
          proto: info.proto,
          listener: info,
          outgoing: false,
          remote: { address: ip, port },
          local: {
            address: socket.localAddress ?? info.address,
            port: socket.localPort ?? info.port,
          },
          acceptedAt: now,
        },
        sock,
        secure ? StreamStart.TlsAccepted : StreamStart.Accepted,
      );
      s.table.addConnection(conn);
      conn.start();
      return;
    }
    case Proto.WS:
    case Proto.WSS: {
      const tlsCfg = s.tls;
      const tlsCtx = s.tlsCtx;
      if (info.proto === Proto.WSS) {
        if (tlsCfg === undefined || tlsCtx === undefined) {
          socket.destroy();
          return;
        }
        rt.ws?.accept(wrapServerSocket(socket, tlsCtx, tlsCfg), now);
      } else rt.ws?.accept(socket, now);
      return;
    }
    default:
      socket.destroy();
  }
}

function onWebSocket(
  s: LayerState,
  info: ListenerInfo,
  ws: WebSocket,
  raw: Duplex,
  acceptedAt: number,
): void {
  try {
    acceptWebSocket(s, info, ws, raw, acceptedAt);
  } catch (err) {
    s.internalError(err);
    ws.terminate();
  }
}

/** A WebSocket upgraded with the `sip` subprotocol (RFC 7118): a flow. */
function acceptWebSocket(
  s: LayerState,
  info: ListenerInfo,
  ws: WebSocket,
  raw: Duplex,
  acceptedAt: number,
): void {
  const sock = raw as Socket;
  const ip = sock.remoteAddress;
  const port = sock.remotePort;
  if (s.state !== 'listening' || ip === undefined || port === undefined) {
    ws.terminate();
    return;
  }
  const conn = new WsConnection(
    s.host,
    {
      id: s.ids.next(),
      proto: info.proto,
      listener: info,
      outgoing: false,
      remote: { address: ip, port },
      local: { address: sock.localAddress ?? info.address, port: sock.localPort ?? info.port },
      acceptedAt,
    },
    ws,
  );
  s.table.addConnection(conn);
  conn.start();
}

/**
 * Graceful shutdown, step 1: stop accepting new connections (TCP/TLS/WS listeners close); UDP
 * sockets and the connections already open keep working, so transactions can finish.
 */
export function stopAccepting(s: LayerState): void {
  for (const r of s.runtimes) if (r.kind === 'stream' && r.server.listening) r.server.close();
}

/** Closes every listener and flow (flows report reason `local`); resolves when every socket is closed. */
export async function shutdown(s: LayerState): Promise<void> {
  s.state = 'closing';
  const waits: Promise<void>[] = [];
  for (const r of s.runtimes) {
    r.open = false;
    if (r.kind === 'udp') {
      s.table.dropUdpListener(r.info.id);
      waits.push(closeUdp(r.socket));
    } else {
      waits.push(closeStream(r.server));
      r.ws?.destroyPending();
    }
  }
  for (const c of [...s.table.connections()]) c.close(FlowCloseReason.Local);
  // every socket still in the set has not emitted 'close' yet (it leaves the set on 'close')
  for (const sock of s.sockets)
    waits.push(new Promise((resolve) => sock.once('close', () => resolve())));
  await Promise.all(waits);
  s.state = 'closed';
}
