import { createSocket } from 'node:dgram';
import { createServer, isIP } from 'node:net';
import { canonicalIp } from '../transport/ip.js';
import type { ListenConfig } from '../transport/types.js';
import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';
import { formatListen } from './listen.js';
import type { Config } from './types.js';

/**
 * Socket probes for `flowgate check` and `flowgate start`: a listener's address must be one of
 * this host's, its port free. A probe binds and releases at once, so it never keeps the port.
 */

/** UDP sockets, or TCP ones (TCP, TLS, WS and WSS listeners, the management API). */
export type PortSpace = 'udp' | 'tcp';

/** The socket space of a SIP transport. */
export function spaceOf(proto: string): PortSpace {
  return proto === 'udp' ? 'udp' : 'tcp';
}

/** True for 0.0.0.0 and :: (every address of the host). */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || (isIP(address) === 6 && canonicalIp(address) === '::');
}

/**
 * Binds `address:port` (port 0: any port, to test only the address) and releases it at once.
 * Resolves with the bind error, or undefined when the bind worked.
 */
export function probeBind(
  space: PortSpace,
  address: string,
  port: number,
): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    if (space === 'udp') {
      let socket: ReturnType<typeof createSocket>;
      try {
        socket = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
      } catch (e) {
        resolve(e as NodeJS.ErrnoException);
        return;
      }
      socket.once('error', (e) => {
        socket.close();
        resolve(e);
      });
      socket.bind({ address, port, exclusive: true }, () => socket.close(() => resolve(undefined)));
      return;
    }
    const server = createServer();
    server.once('error', (e) => resolve(e));
    server.listen({ host: address, port, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
}

/**
 * What a failed bind means, in plain words and with the fix. `what` names the socket
 * (`udp:127.0.0.1:5070`, `management 127.0.0.1:8081`).
 */
export function bindProblem(
  e: NodeJS.ErrnoException,
  what: string,
  l: { readonly space: PortSpace; readonly address: string; readonly port: number },
): string {
  const code = e.code ?? 'error';
  const space = l.space === 'udp' ? 'UDP' : 'TCP';
  switch (code) {
    case 'EADDRINUSE':
      return `cannot listen on ${what}: ${space} port ${l.port} is already in use${isWildcardAddress(l.address) ? '' : ` on ${l.address}`} (EADDRINUSE); stop the process that holds it (ss -lntup | grep :${l.port} shows which) or choose another port`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${what}: ${l.address} is not an address of this host (EADDRNOTAVAIL); use one that ip -brief address lists, or ${isIP(l.address) === 6 ? '::' : '0.0.0.0'} for all of them`;
    case 'EACCES':
    case 'EPERM':
      return l.port > 0 && l.port < 1024
        ? `cannot listen on ${what}: port ${l.port} is below 1024 and needs privileges (${code}); use a port of 1024 or more, or give flowgate CAP_NET_BIND_SERVICE (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE)`
        : `cannot listen on ${what}: permission denied (${code})`;
    case 'EAFNOSUPPORT':
    case 'EPROTONOSUPPORT':
      return `cannot listen on ${what}: this host has no IPv${isIP(l.address) === 6 ? '6' : '4'} (${code}); use an address of the other family`;
    default:
      return `cannot listen on ${what}: ${code}${e.message.includes(code) ? '' : ` (${e.message})`}`;
  }
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  return isIP(a) !== 0 && isIP(a) === isIP(b) && canonicalIp(a) === canonicalIp(b);
}

/**
 * The configuration problem behind a bind error raised while `element` started listening: the
 * listener it hit (by address, port and socket space), with its place in the file. Undefined when
 * the error is no bind error of one of its listeners.
 */
export function listenFailureIssue(
  config: Config,
  element: string,
  e: unknown,
): ConfigIssue | undefined {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  if (typeof err?.code !== 'string' || typeof err.address !== 'string') return undefined;
  const el = config.elements[element];
  if (el === undefined) return undefined;
  // dgram reports `bind`, net.Server `listen`
  const space: PortSpace | undefined =
    err.syscall === 'bind' ? 'udp' : err.syscall === 'listen' ? 'tcp' : undefined;
  const matches = (l: ListenConfig): boolean =>
    sameAddress(l.address, err.address as string) &&
    l.port === (err.port ?? 0) &&
    (space === undefined || spaceOf(l.proto) === space);
  const i = el.listen.findIndex(matches);
  if (i < 0) return undefined;
  const l = el.listen[i] as ListenConfig;
  const path = ['elements', element, 'listen', i];
  return {
    ...config.where(path),
    path: formatPath(path),
    message: bindProblem(err, formatListen(l), {
      space: spaceOf(l.proto),
      address: l.address,
      port: l.port,
    }),
  };
}
