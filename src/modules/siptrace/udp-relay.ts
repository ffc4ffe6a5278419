import { Worker } from 'node:worker_threads';
import { workerReady } from '../../util/worker-ready.js';
import { type HepPacket, hepLayout, writeHep } from './hep.js';

/**
 * HEP over UDP from a worker thread. One datagram per captured message costs a `sendmsg` system
 * call (on loopback the receiver's network stack runs in it too): a few microseconds, several
 * times per request through a proxy. On the SIP thread the relay only copies the packet into a
 * ring buffer in shared memory; a worker thread empties the ring on a short timer and does the
 * sends, a batch per wake-up (every millisecond while there is traffic, backing off to 20 ms when
 * there is none). Nothing on the SIP thread waits or makes a system call, and a full ring drops
 * the packet (counted) instead of slowing the proxy.
 *
 * Ring layout (SharedArrayBuffer): a header of Int32 slots (see `Slot`), then the data area of
 * records `u32 length (little endian) | packet | padding to 4`. A length of 0, or fewer than 4
 * octets left before the end, means "continue at the start". The SIP thread alone writes the
 * write offset, the worker alone the read offset; the ring is empty when they are equal.
 */

const Slot = {
  /** Offset of the next record to write (SIP thread). */
  Write: 0,
  /** Offset of the next record to read (worker). */
  Read: 1,
  /** Datagrams handed to the socket (worker). */
  Sent: 2,
  /** Socket errors (worker). */
  Errors: 3,
  /** 1: stop once the ring is empty (SIP thread). */
  Closing: 4,
} as const;

const HEADER_BYTES = 64;

// The worker: plain CommonJS (an eval'd worker), so it runs the same from src/ and from dist/.
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createSocket } = require('node:dgram');
const { sab, host, port, family } = workerData;
const ctrl = new Int32Array(sab, 0, ${HEADER_BYTES / 4});
const data = Buffer.from(sab, ${HEADER_BYTES});
const cap = data.length;
const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
sock.on('error', () => { Atomics.add(ctrl, ${Slot.Errors}, 1); });
let idle = 1;
function drain() {
  let r = Atomics.load(ctrl, ${Slot.Read});
  const w = Atomics.load(ctrl, ${Slot.Write});
  let n = 0;
  while (r !== w) {
    if (cap - r < 4) { r = 0; continue; }
    const len = data.readUInt32LE(r);
    if (len === 0) { r = 0; continue; }
    const pkt = Buffer.allocUnsafe(len);
    data.copy(pkt, 0, r + 4, r + 4 + len);
    sock.send(pkt);
    n++;
    r += 4 + ((len + 3) & ~3);
    if (r >= cap) r = 0;
  }
  Atomics.store(ctrl, ${Slot.Read}, r);
  if (n > 0) Atomics.add(ctrl, ${Slot.Sent}, n);
  return n;
}
function tick() {
  const n = drain();
  if (n === 0 && Atomics.load(ctrl, ${Slot.Closing}) === 1) {
    sock.close(() => process.exit(0));
    return;
  }
  // busy: every millisecond (a batch per wake-up, never a spin); idle: back off to 20 ms
  idle = n > 0 ? 1 : Math.min(idle * 2, 20);
  setTimeout(tick, idle);
}
sock.connect(port, host, () => {
  parentPort.postMessage('ready');
  tick();
});
`;

/** Counters of a {@link UdpRelay}. */
export interface UdpRelayStats {
  readonly sent: number;
  readonly dropped: number;
  readonly errors: number;
}

/** A worker thread that sends HEP datagrams to one collector (see the file's comment). */
export class UdpRelay {
  readonly #worker: Worker;
  readonly #ctrl: Int32Array;
  readonly #data: Buffer;
  readonly #cap: number;
  #w = 0;
  #dropped = 0;
  #closed = false;

  private constructor(worker: Worker, sab: SharedArrayBuffer) {
    this.#worker = worker;
    this.#ctrl = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.#data = Buffer.from(sab, HEADER_BYTES);
    this.#cap = this.#data.length;
  }

  /**
   * Starts the worker and connects its socket to `address:port` (an IP literal).
   * @param ringBytes size of the ring (default 4 MiB: at 40 MB/s of capture, 100 ms of slack for a
   *   worker that is late, against the 1 ms it normally waits)
   */
  static async open(address: string, port: number, ringBytes = 4 << 20): Promise<UdpRelay> {
    const sab = new SharedArrayBuffer(HEADER_BYTES + ringBytes);
    const worker = new Worker(WORKER_CODE, {
      eval: true,
      workerData: { sab, host: address, port, family: address.includes(':') ? 6 : 4 },
      // the SIP thread's loaders (tsx in tests) are not needed by this plain script
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    const relay = new UdpRelay(worker, sab);
    await workerReady(worker);
    worker.on('error', () => {
      // the worker died (out of memory?): what is queued is lost, and further sends are dropped
      relay.#closed = true;
    });
    worker.unref();
    return relay;
  }

  /** Queues one packet given as parts; false (counted) when the ring has no room or it is closed. */
  send(parts: readonly Buffer[]): boolean {
    let total = 0;
    for (const p of parts) total += p.length;
    const at = this.#reserve(total);
    if (at < 0) return false;
    let o = at + 4;
    for (const p of parts) o += p.copy(this.#data, o);
    this.#commit(at, total);
    return true;
  }

  /**
   * Encodes a HEP packet straight into the ring (no allocation on the SIP thread); false (counted)
   * when it is too long for HEP, the ring has no room, or the relay is closed.
   */
  sendHep(p: HepPacket): boolean {
    const l = hepLayout(p);
    if (l === undefined) {
      this.#dropped++;
      return false;
    }
    const at = this.#reserve(l.total);
    if (at < 0) return false;
    writeHep(this.#data, at + 4, p, l);
    this.#commit(at, l.total);
    return true;
  }

  /** Where a record of `total` octets goes (its length written), or -1 (counted as dropped). */
  #reserve(total: number): number {
    const need = 4 + ((total + 3) & ~3);
    const cap = this.#cap;
    const r = Atomics.load(this.#ctrl, Slot.Read);
    const w = this.#w;
    let at: number;
    if (this.#closed || total === 0) at = -1;
    else if (w >= r) {
      // free: [w, cap) and [0, r - 1); a write that ends exactly at cap wraps w to 0, which must
      // not land on r (that would read as empty)
      if (cap - w > need || (cap - w === need && r !== 0)) at = w;
      else if (r - 1 >= need) {
        if (cap - w >= 4) this.#data.writeUInt32LE(0, w);
        at = 0;
      } else at = -1;
    } else at = r - 1 - w >= need ? w : -1;
    if (at < 0) {
      this.#dropped++;
      return -1;
    }
    this.#data.writeUInt32LE(total, at);
    return at;
  }

  /** Publishes the record at `at` to the worker. */
  #commit(at: number, total: number): void {
    let w = at + 4 + ((total + 3) & ~3);
    if (w >= this.#cap) w = 0;
    this.#w = w;
    Atomics.store(this.#ctrl, Slot.Write, w);
  }

  stats(): UdpRelayStats {
    return {
      sent: Atomics.load(this.#ctrl, Slot.Sent),
      dropped: this.#dropped,
      errors: Atomics.load(this.#ctrl, Slot.Errors),
    };
  }

  /** Lets the worker send what is queued (bounded: 1 s), then ends it. */
  async close(): Promise<void> {
    if (this.#closed) {
      await this.#worker.terminate();
      return;
    }
    this.#closed = true;
    Atomics.store(this.#ctrl, Slot.Closing, 1);
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    const timer = setTimeout(() => void this.#worker.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }
}
