// A HEP collector for tests: listens on loopback over UDP or TCP and decodes what arrives with
// flowgate's own decoder (src/modules/siptrace/hep.ts), keeping every packet and every refusal.
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { type DecodedHep, decodeHep, splitHepStream } from '../../src/modules/siptrace/index.js';

/** A running test collector. */
export interface TestCollector {
  readonly proto: 'udp' | 'tcp';
  readonly port: number;
  /** `udp:127.0.0.1:port` / `tcp:…`, for `duplicate_uri`. */
  readonly uri: string;
  /** Packets decoded, in arrival order. */
  readonly packets: DecodedHep[];
  /** What could not be decoded (should stay empty). */
  readonly errors: string[];
  /** TCP: connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/** A UDP collector: one HEP packet per datagram. */
export async function startUdpCollector(port = 0): Promise<TestCollector> {
  const sock = createSocket('udp4');
  const c: TestCollector = {
    proto: 'udp',
    port: 0,
    uri: '',
    packets: [],
    errors: [],
    connections: 0,
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
  sock.on('message', (buf) => {
    const d = decodeHep(buf);
    if (!d.ok) c.errors.push(d.error);
    else if (d.length !== buf.length) c.errors.push(`trailing ${buf.length - d.length} octets`);
    else c.packets.push(d.packet);
  });
  await new Promise<void>((resolve) => sock.bind(port, '127.0.0.1', () => resolve()));
  const p = sock.address().port;
  return Object.assign(c, { port: p, uri: `udp:127.0.0.1:${p}` });
}

/** A TCP collector: HEP packets back to back on each connection. */
export async function startTcpCollector(port = 0): Promise<TestCollector> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    c.connections++;
    let pending = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      const r = splitHepStream(Buffer.concat([pending, d]));
      if (r === undefined) {
        c.errors.push('not a HEPv3 stream');
        s.destroy();
        return;
      }
      pending = Buffer.from(r.rest);
      for (const p of r.packets) {
        const x = decodeHep(Buffer.from(p));
        if (x.ok) c.packets.push(x.packet);
        else c.errors.push(x.error);
      }
    });
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  const c: TestCollector = {
    proto: 'tcp',
    port: 0,
    uri: '',
    packets: [],
    errors: [],
    connections: 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const addr = server.address();
  const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return Object.assign(c, { port: p, uri: `tcp:127.0.0.1:${p}` });
}
