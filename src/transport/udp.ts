import { createSocket, type Socket } from 'node:dgram';
import type { Address } from './types.js';

/**
 * UDP for SIP (RFC 3261 §18) with STUN on the same port (RFC 5626 §8): the socket, and the
 * demultiplexing of one datagram by its first byte (RFC 7983 §7: 0–3 is STUN) and size.
 */

/**
 * Non-STUN datagrams shorter than this are not SIP and are dropped silently (Kamailio drops
 * datagrams under 32 bytes; outbound.md §1.11.1). A real SIP request is far longer.
 */
export const MIN_SIP_DATAGRAM = 32;

/** What a datagram is, before any parsing. */
export const DatagramKind = {
  /** First byte 0x00–0x03: STUN (RFC 7983 §7; RFC 5389 §6: the top two bits of a STUN message are 0). */
  Stun: 'stun',
  /** Only CR, LF, SP, HT: a CRLF keep-alive, which RFC 5626 §3.5.1 allows only on streams. */
  Blank: 'blank',
  /** Too short to be SIP. */
  Runt: 'runt',
  /** Anything else: scanned as a SIP message. */
  Sip: 'sip',
} as const;
export type DatagramKind = (typeof DatagramKind)[keyof typeof DatagramKind];

/** Classifies a datagram without parsing it. */
export function classifyDatagram(buf: Buffer): DatagramKind {
  const b0 = buf[0];
  if (b0 === undefined) return DatagramKind.Blank;
  if (b0 <= 0x03) return DatagramKind.Stun;
  if (buf.length < MIN_SIP_DATAGRAM) return isBlank(buf) ? DatagramKind.Blank : DatagramKind.Runt;
  if (b0 === 0x0d || b0 === 0x0a || b0 === 0x20 || b0 === 0x09) {
    if (isBlank(buf)) return DatagramKind.Blank;
  }
  return DatagramKind.Sip;
}

function isBlank(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/** Opens and binds a UDP socket for `address` (IPv4 or IPv6 by the address); resolves with the bound address. */
export function bindUdp(
  address: string,
  port: number,
  family: 4 | 6,
): Promise<{ socket: Socket; bound: Address }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      // a bigger receive buffer rides out event-loop pauses (GC) under load instead of dropping
      // datagrams; the kernel caps it at net.core.rmem_max
      try {
        socket.setRecvBufferSize(UDP_BUFFER_BYTES);
        socket.setSendBufferSize(UDP_BUFFER_BYTES);
      } catch {
        // not allowed here: keep the default
      }
      const a = socket.address();
      resolve({ socket, bound: { address: a.address, port: a.port } });
    });
  });
}

/** Socket buffer size asked for on SIP UDP sockets. */
export const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

/** Closes a UDP socket; resolves when it is closed (at once if it already is). */
export function closeUdp(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
