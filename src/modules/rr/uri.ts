import type { ListenerInfo } from '../../transport/types.js';

/** `;transport=` value for a listener in Record-Route / Path (UDP: none; WS and WSS are written `ws`, as Kamailio does). */
export function transportParam(l: ListenerInfo): string {
  switch (l.proto) {
    case 'udp':
      return '';
    case 'tcp':
      return ';transport=tcp';
    case 'tls':
      return ';transport=tls';
    default:
      return ';transport=ws';
  }
}

/** `sip:[user@]host[:port][;transport=…]` for one of our sockets; the port is left out when it is 5060 (outbound.md §1.4). */
export function socketUri(l: ListenerInfo, user: string | undefined): string {
  const host = l.advertise?.host ?? (l.family === 6 ? `[${l.address}]` : l.address);
  const port = l.advertise?.port ?? l.port;
  return `sip:${user === undefined || user === '' ? '' : `${user}@`}${host}${port === 5060 ? '' : `:${port}`}${transportParam(l)}`;
}

/** True when two sockets differ in address, port or transport ("another realm": double Record-Route). */
export function differentSocket(a: ListenerInfo, b: ListenerInfo): boolean {
  return a.id !== b.id && (a.address !== b.address || a.port !== b.port || a.proto !== b.proto);
}
