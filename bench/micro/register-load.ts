// The pieces bench/micro/alloc-register.ts and bench/micro/retention.ts share: the one-process
// configuration (bench/chain/one.yaml.in on 127.0.0.1, ephemeral ports, SQLite in `dir`, no
// management API, silent log) and a REGISTER client in a worker thread (plain JS in its own isolate,
// so its allocations are not the server's), the same messages as bench/soak/reg_refresh.xml: a new
// Call-ID per refresh, the same Contact, +sip.instance and reg-id per user, Expires 600.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** bench/chain/one.yaml.in rendered for an in-process run with its data in `dir`. */
export function oneProcessYaml(dir: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const template = readFileSync(join(here, '../chain/one.yaml.in'), 'utf8');
  return `data_dir: ${dir}\n${template}`
    .replace(/^ *registrar: "sip:@REG_IP@:@REG_PORT@"\n/m, '') // default: this file's registrar
    .replace('listen: @MGMT@', 'listen: false')
    .replace('level: info', 'level: silent')
    .replaceAll('@EDGE_IP@', '127.0.0.1')
    .replaceAll('@REG_IP@', '127.0.0.1')
    .replace(/@(EDGE|WS|REG)_PORT@/g, '0')
    .replaceAll('@BACKEND@', 'sqlite');
}

const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { createSocket } = require('node:dgram');
const { randomUUID } = require('node:crypto');
const { port, users, window, outbound } = workerData;
const sock = createSocket('udp4');
const uuids = [];
for (let i = 0; i < users; i++) uuids.push(randomUUID());
let seq = 0;
const pending = new Map(); // Call-ID -> { bytes, timer }
let todo = 0, done = 0, nextUser = 0, resent = 0;
function request(u) {
  const user = 'ob' + String(u + 1).padStart(5, '0');
  const { address, port: lport } = sock.address();
  const n = ++seq;
  const callId = n + '-' + process.pid + '@' + address;
  const text =
    'REGISTER sip:example.com SIP/2.0\\r\\n' +
    'Via: SIP/2.0/UDP ' + address + ':' + lport + ';branch=z9hG4bK-' + n + '-' + u + ';rport\\r\\n' +
    'Max-Forwards: 70\\r\\n' +
    'From: <sip:' + user + '@example.com>;tag=' + process.pid + 'R' + n + '\\r\\n' +
    'To: <sip:' + user + '@example.com>\\r\\n' +
    'Call-ID: ' + callId + '\\r\\n' +
    'CSeq: 1 REGISTER\\r\\n' +
    'Contact: <sip:' + user + '@' + address + ':' + lport + ';transport=UDP>;reg-id=1;+sip.instance="<urn:uuid:' + uuids[u] + '>"\\r\\n' +
    'Supported: path, outbound\\r\\n' +
    'Expires: 600\\r\\n' +
    'Content-Length: 0\\r\\n\\r\\n';
  return { callId, bytes: Buffer.from(text) };
}
function send(r) {
  sock.send(r.bytes, port, '127.0.0.1');
  // RFC 3261 17.1.2.2 timer E (lengthened): a lost datagram on a busy machine must not stall the run
  r.timer = setTimeout(() => { resent++; send(r); }, 2000);
}
function fill() {
  while (todo > 0 && pending.size < window) {
    todo--;
    const r = request(nextUser);
    nextUser = (nextUser + 1) % users;
    pending.set(r.callId, r);
    send(r);
  }
  if (todo === 0 && pending.size === 0) parentPort.postMessage({ done, resent });
}
sock.on('message', (m) => {
  const s = m.toString('latin1');
  const code = s.slice(8, 11);
  if (code === '100') return;
  const i = s.search(/\\r\\n(Call-ID|i):/i);
  const callId = s.slice(s.indexOf(':', i) + 1, s.indexOf('\\r\\n', i + 2)).trim();
  const r = pending.get(callId);
  if (r === undefined) return;
  if (code !== '200') { console.error('unexpected reply', s); process.exit(1); }
  if (outbound && (!/\\r\\nRequire: *outbound/i.test(s) || !/\\r\\nFlow-Timer: *[0-9]+/i.test(s))) {
    console.error('200 without Require: outbound / Flow-Timer', s); process.exit(1);
  }
  clearTimeout(r.timer);
  pending.delete(callId);
  done++;
  fill();
});
sock.bind(0, '127.0.0.1', () => {
  parentPort.on('message', (count) => { todo = count; done = 0; resent = 0; fill(); });
  parentPort.postMessage('ready');
});
`;

/** One round's outcome: 200s received, and requests sent again after 2 s without an answer. */
export interface RoundResult {
  readonly done: number;
  readonly resent: number;
}

/** A REGISTER client in a worker thread, ready to drive rounds. */
export interface RegisterClient {
  /** Sends `count` REGISTERs (users in turn, at most `window` unanswered) and waits for every 200. */
  drive(count: number): Promise<RoundResult>;
  terminate(): Promise<number>;
}

/**
 * Starts the client towards UDP `port` on 127.0.0.1 for `users` users. `outbound`: every 200 must
 * carry `Require: outbound` and a `Flow-Timer` (through the edge), else the worker exits the process.
 */
export async function startRegisterClient(o: {
  readonly port: number;
  readonly users: number;
  readonly window: number;
  readonly outbound: boolean;
}): Promise<RegisterClient> {
  const worker = new Worker(CLIENT, { eval: true, workerData: o });
  await new Promise<void>((resolve) => worker.once('message', () => resolve()));
  return {
    drive: (count) =>
      new Promise((resolve) => {
        worker.once('message', resolve);
        worker.postMessage(count);
      }),
    terminate: () => worker.terminate(),
  };
}
