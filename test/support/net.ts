// Socket helpers for integration tests: loopback only, ephemeral ports, bounded waits.
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import type { EventEmitter } from 'node:events';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { WebSocket } from 'ws';

/** Default bound for every wait in the transport tests. */
export const WAIT_MS = 5000;

/**
 * Waits until `cond` holds: a predicate (polled every few ms) or `[emitter, event]` (resolves with
 * the event's arguments). Rejects after `timeoutMs` with `label` in the message.
 */
export function waitFor(cond: () => boolean, timeoutMs?: number, label?: string): Promise<void>;
export function waitFor(
  cond: readonly [EventEmitter, string],
  timeoutMs?: number,
  label?: string,
): Promise<unknown[]>;
export function waitFor(
  cond: (() => boolean) | readonly [EventEmitter, string],
  timeoutMs = WAIT_MS,
  label = 'condition',
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (typeof cond === 'function') {
      if (cond()) {
        resolve(undefined);
        return;
      }
      const started = Date.now();
      const tick = (): void => {
        if (cond()) resolve(undefined);
        else if (Date.now() - started > timeoutMs)
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`));
        else setTimeout(tick, 5);
      };
      setTimeout(tick, 5);
      return;
    }
    const [emitter, event] = cond;
    const onEvent = (...args: unknown[]): void => {
      clearTimeout(t);
      resolve(args);
    };
    const t = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}' (${label})`));
    }, timeoutMs);
    emitter.once(event, onEvent);
  });
}

/** A free port on `host` (bind to 0, read it, close). Prefer binding listeners to port 0 directly. */
/** True when `port` could be bound on `host` over `proto` just now (the socket is closed again). */
function canBind(proto: 'tcp' | 'udp', host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, host, () => s.close(() => resolve(true)));
      return;
    }
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/**
 * A port free on `host` for both UDP and TCP (tests often listen on both), chosen below the
 * kernel's ephemeral range (32768-60999 on Linux): a port the kernel handed out for `bind(0)`
 * could be handed out again, for another test's outgoing connection, before the server under
 * test binds it. `proto` is kept for the callers' intent; both are checked.
 */
export async function freePort(_proto: 'tcp' | 'udp', host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await canBind('tcp', host, port)) && (await canBind('udp', host, port))) return port;
  }
  throw new Error(`no free port on ${host} between 20000 and 32000`);
}

/** A UDP client that queues what it receives. */
export class UdpClient {
  readonly socket: DgramSocket;
  readonly received: Buffer[] = [];
  #taken = 0;

  private constructor(socket: DgramSocket) {
    this.socket = socket;
    socket.on('message', (m) => this.received.push(m));
    socket.on('error', () => {});
  }

  /** Binds a client on `host` (its family decides udp4/udp6). */
  static open(host = '127.0.0.1'): Promise<UdpClient> {
    return new Promise((resolve, reject) => {
      const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.bind(0, host, () => resolve(new UdpClient(s)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Buffer | string, port: number, host = '127.0.0.1'): void {
    this.socket.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, port, host);
  }

  /** The next datagram not taken yet. */
  async next(timeoutMs = WAIT_MS): Promise<Buffer> {
    await waitFor(() => this.received.length > this.#taken, timeoutMs, 'a UDP datagram');
    const b = this.received[this.#taken++];
    if (b === undefined) throw new Error('no datagram');
    return b;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A raw TCP or TLS client that accumulates everything it receives. */
export class StreamClient {
  readonly socket: Socket | TLSSocket;
  data: Buffer = Buffer.alloc(0);
  closed = false;
  error: Error | undefined;
  /** Bytes already consumed by {@link take}. */
  #taken = 0;

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    socket.on('data', (b: Buffer) => {
      this.data = Buffer.concat([this.data, b]);
    });
    socket.on('error', (e) => {
      this.error = e;
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /** Connects over TCP (optionally from `localAddress`, e.g. 127.0.0.2 to look like another host). */
  static tcp(port: number, host = '127.0.0.1', localAddress?: string): Promise<StreamClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ port, host, ...(localAddress !== undefined ? { localAddress } : {}) });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new StreamClient(s));
      });
    });
  }

  /** Connects over TLS (check the server against `opts.ca`). */
  static tls(port: number, host: string, opts: ConnectionOptions): Promise<StreamClient> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ port, host, ...opts });
      s.once('error', reject);
      s.once('secureConnect', () => {
        s.off('error', reject);
        resolve(new StreamClient(s));
      });
    });
  }

  write(data: Buffer | string): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Everything received and not taken yet, as latin1 text. */
  get text(): string {
    return this.data.subarray(this.#taken).toString('latin1');
  }

  /** Waits until the untaken text satisfies `pred`. */
  async until(
    pred: (text: string) => boolean,
    timeoutMs = WAIT_MS,
    label = 'stream data',
  ): Promise<string> {
    await waitFor(() => pred(this.text), timeoutMs, label);
    return this.text;
  }

  /** Waits for `n` untaken bytes and takes them. */
  async take(n: number, timeoutMs = WAIT_MS): Promise<string> {
    await waitFor(() => this.data.length - this.#taken >= n, timeoutMs, `${n} bytes`);
    const s = this.data.subarray(this.#taken, this.#taken + n).toString('latin1');
    this.#taken += n;
    return s;
  }

  /** Takes one SIP message (header block + Content-Length body) off the stream. */
  async takeMessage(timeoutMs = WAIT_MS): Promise<string> {
    const t = await this.until((s) => messageLength(s) > 0, timeoutMs, 'a SIP message');
    return this.take(messageLength(t));
  }

  async waitClosed(timeoutMs = WAIT_MS): Promise<void> {
    await waitFor(() => this.closed, timeoutMs, 'the connection to close');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Length of the first complete SIP message in `s` (0 when incomplete). */
export function messageLength(s: string): number {
  const he = s.indexOf('\r\n\r\n');
  if (he < 0) return 0;
  const m = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)/i.exec(s.slice(0, he + 2));
  const cl = m === null ? 0 : Number(m[1]);
  return s.length >= he + 4 + cl ? he + 4 + cl : 0;
}

/** A WebSocket client that queues frames, pings and pongs. */
export class WsClient {
  readonly ws: WebSocket;
  readonly frames: { data: Buffer; binary: boolean }[] = [];
  readonly pings: Buffer[] = [];
  readonly pongs: Buffer[] = [];
  closed = false;
  closeCode: number | undefined;
  #taken = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (d, binary) => {
      const data = Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d);
      this.frames.push({ data, binary });
    });
    ws.on('ping', (d) => this.pings.push(d));
    ws.on('pong', (d) => this.pongs.push(d));
    ws.on('error', () => {});
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
    });
  }

  /** Opens `url` offering `protocols` (default `sip`). `autoPong: false` lets a test ignore pings. */
  static open(
    url: string,
    opts: { protocols?: string[]; autoPong?: boolean; ca?: string | Buffer } = {},
  ): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts.protocols ?? ['sip'], {
        autoPong: opts.autoPong ?? true,
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      });
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new WsClient(ws));
      });
    });
  }

  send(data: string | Buffer, binary = false): void {
    this.ws.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, { binary });
  }

  async next(timeoutMs = WAIT_MS): Promise<{ data: Buffer; binary: boolean }> {
    await waitFor(() => this.frames.length > this.#taken, timeoutMs, 'a WebSocket frame');
    const f = this.frames[this.#taken++];
    if (f === undefined) throw new Error('no frame');
    return f;
  }

  async waitClosed(timeoutMs = WAIT_MS): Promise<void> {
    await waitFor(() => this.closed, timeoutMs, 'the WebSocket to close');
  }

  close(): void {
    this.ws.terminate();
  }
}
