import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Address } from './types.js';

/**
 * TCP sockets for the transport layer: the listening server (shared by TCP, TLS, WS and WSS, which
 * all start as an accepted TCP socket) and outgoing connects. The connection flow itself is
 * {@link StreamConnection}.
 */

/** Creates a listening server; every accepted socket goes to `onSocket` (which owns it from then on). */
export function createStreamServer(
  onSocket: (socket: Socket) => void,
  onError: (err: Error) => void,
): Server {
  const server = createServer({ noDelay: true, allowHalfOpen: false }, onSocket);
  server.on('error', onError);
  return server;
}

/** Binds a server; resolves with the bound address (the real port when 0 was asked for). */
export function listenStream(server: Server, address: string, port: number): Promise<Address> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const a = server.address();
      if (a === null || typeof a === 'string') reject(new Error('listener has no address'));
      else resolve({ address: a.address, port: a.port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: address, port, exclusive: true });
  });
}

/** Stops accepting; resolves when the server has closed. */
export function closeStream(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

/** True for the unspecified addresses that mean "any interface". */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '0:0:0:0:0:0:0:0';
}

/**
 * Opens an outgoing TCP connection; data written before it connects is queued by the socket.
 * `localAddress` binds the source address (a listener's specific address), never a port.
 */
export function connectTcp(remote: Address, localAddress: string | undefined): Socket {
  return connect({
    host: remote.address,
    port: remote.port,
    noDelay: true,
    ...(localAddress !== undefined ? { localAddress } : {}),
  });
}
