// How much memory one idle registered TCP flow costs a flowgate edge (docs/scaling.md). Starts a
// registrar (memory store) and an edge as two `flowgate start` processes (from src/ through tsx)
// on 127.0.73.x, the edge with --inspect on loopback; opens FLOWS TCP connections to the edge, each
// registering one phone with RFC 5626 outbound (reg-id 1, +sip.instance) and then staying idle; reads
// the edge's memory after two full garbage collections (bench/chain/heap.ts) and its VmRSS from
// /proc before and after, and prints the cost per flow. Stops both processes and closes the
// connections at the end (also on failure).
//
//   npx tsx bench/scaling/flow-bytes.ts [--flows 5000]
//
// Needs `ulimit -n` above FLOWS plus a few hundred (this process holds the client side of every
// connection). Kernel socket memory (send/receive buffers; little for an idle connection) is not in
// any process's RSS and is not counted.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** `flowgate start` from the sources (no build needed). */
const CLI = ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
const { values } = parseArgs({
  options: {
    flows: { type: 'string', default: '5000' },
    'ping-secs': { type: 'string', default: '10' },
    net: { type: 'string', default: '127.0.73' },
  },
});
const FLOWS = Number(values.flows);
const NET = values.net;
const WARMUP = 200;
const PING_SECS = Number(values['ping-secs']);
if (!(FLOWS >= 500)) throw new Error('--flows >= 500');
const EDGE = `${NET}.1`;
const REG = `${NET}.11`;
const INSPECT = `${EDGE}:9229`;

const dir = mkdtempSync(join(tmpdir(), 'flowgate-flow-bytes-'));
const procs: ChildProcess[] = [];
const sockets: Socket[] = [];

function cleanup(): void {
  for (const s of sockets) s.destroy();
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.once('exit', cleanup);

function start(name: string, yaml: string, nodeFlags: string[] = []): Promise<ChildProcess> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  const p = spawn(process.execPath, [...nodeFlags, ...CLI, 'start', '-c', file], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(p);
  let err = '';
  p.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolveStart, reject) => {
    const t = setInterval(() => {
      if (/^management: /m.test(err)) {
        clearInterval(t);
        resolveStart(p);
      } else if (p.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`${name} did not start:\n${err}`));
      }
    }, 50);
  });
}

/** Edge memory after two full GCs, and its VmRSS. */
function edgeMemory(pid: number): { heapUsed: number; external: number; rss: number } {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'chain', 'heap.ts'), INSPECT],
    { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
  );
  const m = JSON.parse(out) as { heapUsed: number; external: number };
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return { heapUsed: m.heapUsed, external: m.external, rss: rssKb * 1024 };
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 and 15 (utime, stime), counted after the command name; in clock ticks
  const ticks = Number(f[11]) + Number(f[12]);
  return ticks / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
}

/** One phone: a TCP connection, an outbound REGISTER, resolves on its 200; the connection stays. */
function register(n: number): Promise<void> {
  return new Promise((resolveReg, reject) => {
    // phones come from 100 source addresses, as from many NATs
    const src = `${NET}.${101 + (n % 100)}`;
    const s = connect({ host: EDGE, port: 5060, localAddress: src });
    sockets.push(s);
    let buf = '';
    s.setEncoding('latin1');
    s.once('error', reject);
    s.once('connect', () => {
      const user = `p${n}`;
      const port = s.localPort;
      const tag = randomUUID().slice(0, 8);
      s.write(
        [
          'REGISTER sip:example.com SIP/2.0',
          `Via: SIP/2.0/TCP ${src}:${port};branch=z9hG4bK-${tag}-${n};rport`,
          'Max-Forwards: 70',
          `From: <sip:${user}@example.com>;tag=${tag}`,
          `To: <sip:${user}@example.com>`,
          `Call-ID: ${randomUUID()}`,
          'CSeq: 1 REGISTER',
          `Contact: <sip:${user}@${src}:${port};transport=tcp;ob>;reg-id=1;+sip.instance="<urn:uuid:${randomUUID()}>"`,
          'Supported: path, outbound, gruu',
          'User-Agent: Yealink SIP-T46U 108.86.0.45',
          'Expires: 3600',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
    });
    s.on('data', (d: string) => {
      buf += d;
      const m = /^SIP\/2\.0 (\d{3})/m.exec(buf);
      if (m !== null && m[1] !== '100') {
        s.removeAllListeners('data');
        if (m[1] === '200') resolveReg();
        else reject(new Error(`phone ${n}: ${buf.split('\r\n')[0]}`));
      }
    });
  });
}

async function registerRange(from: number, to: number): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) await register(next++);
  };
  await Promise.all(Array.from({ length: 50 }, worker));
}

try {
  await start(
    'registrar',
    [
      `data_dir: ${join(dir, 'registrar')}`,
      `management: { listen: "${REG}:8082" }`,
      'log: { level: warn }',
      'elements:',
      '  registrar:',
      `    listen: [udp:${REG}:5060, tcp:${REG}:5060]`,
      '    modules: { usrloc: { backend: memory } }',
      '',
    ].join('\n'),
  );
  const edge = await start(
    'edge',
    [
      `data_dir: ${join(dir, 'edge')}`,
      `management: { listen: "${EDGE}:8081" }`,
      'log: { level: warn }',
      'elements:',
      '  edge:',
      `    listen: [udp:${EDGE}:5060, tcp:${EDGE}:5060]`,
      '    tcp_connection_lifetime: 3600 # idle flows stay for the measurement',
      `    edge: { registrar: "sip:${REG}:5060" }`,
      '    modules: { limits: { max_connections: 1000000, max_connections_per_ip: 1000000 } }',
      '',
    ].join('\n'),
    [`--inspect=${INSPECT}`],
  );
  const pid = edge.pid ?? 0;
  await registerRange(0, WARMUP);
  await sleep(500);
  const before = edgeMemory(pid);
  await registerRange(WARMUP, WARMUP + FLOWS);
  await sleep(500);
  const after = edgeMemory(pid);
  const per = (a: number, b: number): number => Math.round((b - a) / FLOWS);
  console.log(
    `edge with ${WARMUP} -> ${WARMUP + FLOWS} idle registered TCP flows (node ${process.version})`,
  );
  console.log(
    `  heapUsed ${(before.heapUsed / 2 ** 20).toFixed(1)} -> ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB, external ${(before.external / 2 ** 20).toFixed(1)} -> ${(after.external / 2 ** 20).toFixed(1)} MiB, VmRSS ${(before.rss / 2 ** 20).toFixed(1)} -> ${(after.rss / 2 ** 20).toFixed(1)} MiB`,
  );
  console.log(`edge_heap_bytes_per_flow=${per(before.heapUsed, after.heapUsed)}`);
  console.log(`edge_external_bytes_per_flow=${per(before.external, after.external)}`);
  console.log(`edge_rss_bytes_per_flow=${per(before.rss, after.rss)}`);

  // RFC 5626 §3.5.1 keep-alives: every flow sends a double CRLF once a second (spread over the
  // second), the edge answers each with a CRLF; the edge's CPU per keep-alive
  if (PING_SECS > 0) {
    let pongs = 0;
    for (const s of sockets)
      s.on('data', (d: string) => {
        pongs += (d.match(/\r\n/g) ?? []).length;
      });
    const idle0 = cpuSeconds(pid);
    await sleep(2000);
    const idle = (cpuSeconds(pid) - idle0) / 2;
    let pings = 0;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const timers = sockets.map((s, i) =>
      setTimeout(
        () => {
          const send = (): void => {
            s.write('\r\n\r\n');
            pings++;
          };
          send();
          timers[i] = setInterval(send, 1000);
        },
        (i * 1000) / sockets.length,
      ),
    );
    await sleep(PING_SECS * 1000);
    for (const t of timers) clearInterval(t);
    const secs = (performance.now() - t0) / 1000;
    await sleep(300);
    const cpu = cpuSeconds(pid) - cpu0 - idle * secs;
    console.log(
      `  keep-alives: ${pings} double CRLFs in ${secs.toFixed(1)} s (${Math.round(pings / secs)}/s), ${pongs} CRLF answers; edge CPU ${((100 * (cpu + idle * secs)) / secs).toFixed(0)} % of a core (idle ${(100 * idle).toFixed(1)} %)`,
    );
    console.log(`edge_cpu_us_per_keepalive=${((cpu * 1e6) / pings).toFixed(1)}`);
  }
} finally {
  cleanup();
  process.removeListener('exit', cleanup);
}
