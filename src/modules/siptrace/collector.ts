import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';
import { hostPort } from '../../transport/ip.js';
import { type Logger, noopLogger, RateLimitedLog } from '../../util/logger.js';
import { encodeHepParts, type HepPacket } from './hep.js';
import { UdpRelay } from './udp-relay.js';

/** Where HEP packets go: a collector (Homer, heplify-server, sngrep -L, Kamailio sipcapture). */
export interface CollectorAddress {
  readonly proto: 'udp' | 'tcp';
  /** IP literal (IPv6 without brackets) or host name, resolved once when capture starts. */
  readonly host: string;
  readonly port: number;
}

/** The forms {@link parseCollectorUri} accepts, for messages. */
export const COLLECTOR_URI_FORMS =
  'udp:host:port, tcp:host:port (IPv6 in brackets), or Kamailio duplicate_uri sip:host:port[;transport=tcp]';

/**
 * Parses a collector address: `udp:127.0.0.1:9060`, `tcp:[2001:db8::1]:9061`, or Kamailio's
 * siptrace `duplicate_uri` form `sip:10.0.0.1:9060` / `sip:10.0.0.1:9061;transport=tcp`.
 */
export function parseCollectorUri(
  s: string,
): { ok: true; value: CollectorAddress } | { ok: false; message: string } {
  const bad = (why: string): { ok: false; message: string } => ({
    ok: false,
    message: `'${s}': ${why} (expected ${COLLECTOR_URI_FORMS})`,
  });
  const m = /^(udp|tcp|sip):(?:\[([0-9a-fA-F:.]+)\]|([^\s:;[\]/@]+)):(\d{1,5})(;.*)?$/i.exec(
    s.trim(),
  );
  if (m === null) return bad('not a collector address');
  const scheme = (m[1] ?? '').toLowerCase();
  const host = m[2] ?? m[3] ?? '';
  if (m[2] !== undefined && isIP(host) !== 6) return bad(`[${host}] is not an IPv6 address`);
  const port = Number(m[4]);
  if (port < 1 || port > 65_535) return bad(`port ${port} is not 1..65535`);
  let proto: 'udp' | 'tcp' = scheme === 'tcp' ? 'tcp' : 'udp';
  const params = m[5];
  if (params !== undefined) {
    if (scheme !== 'sip') return bad('parameters only with sip:');
    const t = /;transport=([a-z]+)/i.exec(params)?.[1]?.toLowerCase();
    if (t !== undefined && t !== 'udp' && t !== 'tcp') return bad(`transport ${t} (udp or tcp)`);
    if (t === 'tcp') proto = 'tcp';
  }
  return { ok: true, value: { proto, host, port } };
}

/** The collector address as text (`udp:127.0.0.1:9060`). */
export function formatCollector(c: CollectorAddress): string {
  return `${c.proto}:${hostPort(c.host, c.port)}`;
}

/** Counters of a {@link HepSender}. */
export interface HepSenderStats {
  /** Packets handed to the socket. */
  readonly sent: number;
  /** Packets not sent: the collector unreachable or not reading (queue full), or not open yet. */
  readonly dropped: number;
  /** Socket errors (refused, reset, unreachable). */
  readonly errors: number;
  /** TCP: connected now; UDP: the socket is open. */
  readonly connected: boolean;
}

/** Settings of a {@link HepSender}. */
export interface HepSenderOptions {
  readonly logger?: Logger | undefined;
  /** Bytes a TCP sender keeps while the collector is not reading or reconnecting (default 1 MiB). */
  readonly maxQueueBytes?: number | undefined;
  /** First and longest wait before reconnecting to a TCP collector, ms (default 500 / 30000). */
  readonly reconnectMinMs?: number | undefined;
  readonly reconnectMaxMs?: number | undefined;
  /**
   * UDP: send from a worker thread (default true; src/modules/siptrace/udp-relay.ts), so that the
   * SIP thread only copies each packet into shared memory; false: send on the SIP thread.
   */
  readonly udpThread?: boolean | undefined;
}

/**
 * Sends HEP packets to one collector. Over UDP, one datagram per packet, sent by a worker thread
 * (or from a connected socket on this thread); over TCP, one connection, reconnected with
 * back-off, packets of one event-loop turn written together. Never blocks and never throws on the
 * send path: what cannot go (collector away, queue at its cap) is counted as dropped, and failures
 * are logged (rate-limited).
 */
export class HepSender {
  readonly target: CollectorAddress;
  readonly #log: Logger;
  readonly #rl = new RateLimitedLog();
  readonly #maxQueue: number;
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #udpThread: boolean;
  #relay: UdpRelay | undefined;
  #sent = 0;
  #dropped = 0;
  #errors = 0;
  #udp: DgramSocket | undefined;
  #tcp: Socket | undefined;
  #connected = false;
  #corked = false;
  /** Packets waiting for a TCP connection. */
  #queue: Buffer[] = [];
  #queueBytes = 0;
  #backoff: number;
  #retry: NodeJS.Timeout | undefined;
  #address: string | undefined;
  #closed = false;

  constructor(target: CollectorAddress, opts: HepSenderOptions = {}) {
    this.target = target;
    this.#log = (opts.logger ?? noopLogger).child({ collector: formatCollector(target) });
    this.#maxQueue = opts.maxQueueBytes ?? 1024 * 1024;
    this.#minMs = opts.reconnectMinMs ?? 500;
    this.#maxMs = opts.reconnectMaxMs ?? 30_000;
    this.#backoff = this.#minMs;
    this.#udpThread = opts.udpThread ?? true;
  }

  /**
   * Resolves the collector's name (once) and opens the socket: for UDP, resolves when it can send;
   * for TCP, once the first connect was started (packets queue until it is connected).
   * @throws when the name does not resolve
   */
  async open(): Promise<void> {
    if (this.#address === undefined) {
      const h = this.target.host;
      this.#address = isIP(h) !== 0 ? h : (await lookup(h)).address;
    }
    if (this.#closed) return;
    if (this.target.proto === 'tcp') this.#connectTcp(this.#address);
    else if (this.#udpThread) {
      try {
        this.#relay = await UdpRelay.open(this.#address, this.target.port);
        this.#connected = true;
        return;
      } catch (e) {
        this.#log.warn(
          { err: e instanceof Error ? e.message : String(e) },
          'siptrace: no worker thread for HEP over UDP; sending on the SIP thread',
        );
      }
      await this.#openUdp(this.#address);
    } else await this.#openUdp(this.#address);
  }

  /** Counters since creation. */
  stats(): HepSenderStats {
    const r = this.#relay?.stats();
    return {
      sent: this.#sent + (r?.sent ?? 0),
      dropped: this.#dropped + (r?.dropped ?? 0),
      errors: this.#errors + (r?.errors ?? 0),
      connected: this.#connected,
    };
  }

  /** Encodes and sends one HEP packet (into the UDP relay's ring without a copy in between). */
  sendPacket(p: HepPacket): boolean {
    if (this.#relay !== undefined) return this.#relay.sendHep(p);
    const parts = encodeHepParts(p);
    if (parts === undefined) {
      this.#dropped++;
      return false;
    }
    return this.send(parts);
  }

  /** Sends one packet given as parts (header, payload, trailer). False when it was dropped. */
  send(parts: readonly Buffer[]): boolean {
    if (this.#relay !== undefined) return this.#relay.send(parts);
    if (this.#udp !== undefined) {
      if (!this.#connected) {
        this.#dropped++;
        return false;
      }
      this.#udp.send(parts as Buffer[]);
      this.#sent++;
      return true;
    }
    const sock = this.#tcp;
    if (sock !== undefined && this.#connected) {
      if (sock.writableLength > this.#maxQueue) {
        this.#dropped++;
        return false;
      }
      if (!this.#corked) {
        // one write per event-loop turn for everything captured in it
        this.#corked = true;
        sock.cork();
        process.nextTick(() => {
          this.#corked = false;
          sock.uncork();
        });
      }
      for (const p of parts) if (p.length > 0) sock.write(p);
      this.#sent++;
      return true;
    }
    let n = 0;
    for (const p of parts) n += p.length;
    if (this.#closed || this.#queueBytes + n > this.#maxQueue) {
      this.#dropped++;
      return false;
    }
    this.#queue.push(Buffer.concat(parts as Buffer[], n));
    this.#queueBytes += n;
    return true;
  }

  /** Closes the socket; what is still queued for a TCP collector is written first when connected. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    const udp = this.#udp;
    const tcp = this.#tcp;
    const relay = this.#relay;
    this.#udp = undefined;
    this.#tcp = undefined;
    this.#connected = false;
    this.#dropped += this.#queue.length;
    this.#queue = [];
    this.#queueBytes = 0;
    if (relay !== undefined) return relay.close();
    return new Promise((resolve) => {
      if (udp !== undefined) udp.close(() => resolve());
      else if (tcp !== undefined && !tcp.destroyed) {
        tcp.once('close', () => resolve());
        tcp.end();
        setTimeout(() => tcp.destroy(), 1000).unref();
      } else resolve();
    });
  }

  #openUdp(address: string): Promise<void> {
    const sock = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    this.#udp = sock;
    sock.on('error', (err: NodeJS.ErrnoException) => this.#failed(err));
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(this.target.port, address, () => {
        sock.off('error', reject);
        sock.unref();
        this.#connected = true;
        resolve();
      });
    });
  }

  #connectTcp(address: string): void {
    if (this.#closed) return;
    const sock = connect({ host: address, port: this.target.port });
    this.#tcp = sock;
    sock.setNoDelay(true);
    sock.unref();
    sock.on('connect', () => {
      this.#connected = true;
      this.#backoff = this.#minMs;
      this.#log.info({}, 'siptrace: connected to the HEP collector');
      const q = this.#queue;
      this.#queue = [];
      this.#queueBytes = 0;
      for (const b of q) sock.write(b);
      this.#sent += q.length;
    });
    sock.on('error', (err: NodeJS.ErrnoException) => this.#failed(err));
    sock.on('close', () => {
      const was = this.#connected;
      this.#connected = false;
      if (this.#tcp !== sock || this.#closed) return;
      this.#tcp = undefined;
      if (was) this.#log.warn({}, 'siptrace: connection to the HEP collector closed; reconnecting');
      const wait = this.#backoff;
      this.#backoff = Math.min(this.#backoff * 2, this.#maxMs);
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#connectTcp(address);
      }, wait);
      this.#retry.unref();
    });
  }

  #failed(err: NodeJS.ErrnoException): void {
    this.#errors++;
    this.#rl.log(
      this.#log,
      'warn',
      `err-${err.code ?? 'x'}`,
      { err: err.message },
      'siptrace: HEP collector unreachable',
    );
  }
}
