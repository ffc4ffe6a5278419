// Warm-up before listening (issue 12, soak: "none over 100 ms"). A cold process runs its SIP path
// in V8's interpreter until the optimizing compiler has seen enough of it: measured on loopback,
// the first REGISTERs through edge + registrar cost ~3 ms each instead of ~0.2 ms, so a restart
// under 2 500 REGISTER/s queued requests for ~0.8 s and answered ~2 000 of them after 100–240 ms
// (UDP phones retransmit at 500 ms). `flowgate start` therefore first drives REGISTER refreshes
// through a private edge + registrar pair on 127.0.0.1 (ephemeral ports, memory location store,
// a temporary data_dir, no management API), closes it, and only then opens the configured
// listeners. The same functions serve both (one process, one set of modules), so the real
// elements start with optimized code. Nothing of the private pair is visible outside: it has its
// own stores, keys and counters, and only 127.0.0.1 ever sees its packets.
// What the pair runs must be what the load will run: code that meets a shape or a path the warm-up
// never showed it is deoptimized under load and runs slowly until compiled again (`--trace-deopt`
// in a soak: the edge's first OPTIONS probe of its registrar, 10 s in, deoptimized the request
// path of both elements; bindings read back from SQLite, those of the registrar). So the pair uses
// the configured store's kind (SQLite when a registrar uses it; Redis is not local, memory then),
// and the edge probes its registrar while the REGISTERs run.
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { noopLogger } from '../util/logger.js';
import { startInstance } from './instance.js';

/** What a warm-up did. */
export interface WarmupResult {
  /** REGISTERs answered 200 (fewer than asked when the time ran out). */
  readonly registers: number;
  readonly ms: number;
  /** The private registrar's store kind. */
  readonly store: WarmupStore;
  /** OPTIONS probes the private edge sent its registrar, and the last answer's status (undefined: none yet). */
  readonly probes: number;
  readonly probeResult: string | undefined;
  /** Why it stopped before all were answered: the time bound, or a reply other than 200. */
  readonly stopped?: string;
}

/** The location store the private registrar uses: the configured kind, when it is local. */
export type WarmupStore = 'memory' | 'sqlite';

/**
 * The store kind for the warm-up of `config` (its `role` only, when given): SQLite when a
 * registrar keeps its bindings in SQLite, memory otherwise (memory, Redis, or no registrar).
 */
export function warmupStore(config: Config, role?: string): WarmupStore {
  const names = role === undefined ? Object.keys(config.elements) : [role];
  return names.some((n) => config.elements[n]?.modules.usrloc?.backend === 'sqlite')
    ? 'sqlite'
    : 'memory';
}

/** The private pair: the default edge + registrar, on loopback only, in `dir`. */
function pairYaml(dir: string, store: WarmupStore): string {
  return [
    `data_dir: ${JSON.stringify(dir)}`,
    'log: { level: silent }',
    'management: { listen: false }',
    'warmup: 0',
    'elements:',
    '  edge:',
    '    script: edge',
    '    listen: [udp:127.0.0.1:0]',
    '    alias: [warmup.example.com]',
    '    force_rport: true',
    '  registrar:',
    '    script: registrar',
    '    listen: [udp:127.0.0.1:0]',
    '    alias: [warmup.example.com]',
    '    modules:',
    '      registrar: { use_path: 1, gruu_enabled: 1, outbound_mode: 1 }',
    `      usrloc: { backend: ${store}${store === 'sqlite' ? ', path: warmup.db' : ''} }`,
    '',
  ].join('\n');
}

const USERS = 256;
const WINDOW = 16;
/** The edge probes its registrars once per this many answered REGISTERs (in service: every 10 s). */
const PROBE_EVERY = 100;

/**
 * Sends `count` outbound REGISTER refreshes (RFC 5626 §5.2: +sip.instance and reg-id, `USERS`
 * users in turn, at most `WINDOW` unanswered) to `port` on 127.0.0.1 and resolves with the number
 * answered 200 when all are answered, one is answered otherwise, or `deadline` passes. `onOk` runs
 * after each 200 with the count so far.
 */
function drive(
  port: number,
  count: number,
  deadline: number,
  onOk: (ok: number) => void,
): Promise<{ ok: number; stopped?: string }> {
  const sock = createSocket('udp4');
  const uuids = Array.from({ length: USERS }, () => randomUUID());
  const pending = new Set<string>();
  let sent = 0;
  let ok = 0;
  let local = 0;
  let stopped: string | undefined;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      sock.removeAllListeners('message');
      sock.close(() => resolve(stopped === undefined ? { ok } : { ok, stopped }));
    };
    const send = (): void => {
      const n = sent++;
      const u = n % USERS;
      const user = `warm${u}`;
      const callId = `${n}.${uuids[0]}@127.0.0.1`;
      pending.add(callId);
      sock.send(
        'REGISTER sip:warmup.example.com SIP/2.0\r\n' +
          `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-warm-${n};rport\r\n` +
          'Max-Forwards: 70\r\n' +
          `From: <sip:${user}@warmup.example.com>;tag=w${n}\r\n` +
          `To: <sip:${user}@warmup.example.com>\r\n` +
          `Call-ID: ${callId}\r\n` +
          `CSeq: ${n + 1} REGISTER\r\n` +
          `Contact: <sip:${user}@127.0.0.1:${local};transport=udp>;reg-id=1;+sip.instance="<urn:uuid:${uuids[u]}>"\r\n` +
          'Supported: path, outbound\r\n' +
          'Expires: 600\r\n' +
          'Content-Length: 0\r\n\r\n',
        port,
        '127.0.0.1',
      );
    };
    sock.on('error', (err) => {
      stopped = err.message;
      finish();
    });
    sock.on('message', (m) => {
      const text = m.toString('latin1');
      if (text.startsWith('SIP/2.0 1')) return;
      const at = text.search(/\r\n(?:Call-ID|i)[ \t]*:/i);
      if (at < 0) return;
      const callId = text.slice(text.indexOf(':', at) + 1, text.indexOf('\r\n', at + 2)).trim();
      if (!pending.delete(callId)) return;
      if (!text.startsWith('SIP/2.0 200')) {
        stopped = `answered ${text.slice(8, text.indexOf('\r\n'))}`;
        finish();
        return;
      }
      ok++;
      onOk(ok);
      if (sent < count) send();
      else if (pending.size === 0) finish();
    });
    sock.bind(0, '127.0.0.1', () => {
      local = sock.address().port;
      timer = setTimeout(
        () => {
          stopped = 'time bound reached';
          finish();
        },
        Math.max(0, deadline - Date.now()),
      );
      for (let i = 0; i < WINDOW && sent < count; i++) send();
    });
  });
}

/**
 * Runs `registers` REGISTERs through a private edge + registrar pair (its registrar's bindings in
 * a `store` of the kind the configuration uses) and closes it again, within `maxMs`. Never throws:
 * a warm-up that cannot run (no loopback, no temporary directory) only leaves the process cold;
 * the reason is returned for one log line.
 */
export async function warmUp(
  registers: number,
  maxMs = 5000,
  store: WarmupStore = 'memory',
): Promise<WarmupResult | { readonly failed: string }> {
  const t0 = Date.now();
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(tmpdir(), 'flowgate-warmup-'));
    const inst = await startInstance(parseConfig(pairYaml(dir, store), join(dir, 'warmup.yaml')), {
      logger: noopLogger,
      version: 'warmup',
    });
    try {
      const edge = inst.elements.find((e) => e.config.name === 'edge');
      const port = edge?.listeners.find((l) => l.proto === 'udp')?.port;
      if (port === undefined) return { failed: 'the private edge has no UDP listener' };
      const registrars = edge?.server.registrars;
      let probes = 0;
      const r = await drive(port, registers, t0 + maxMs, (ok) => {
        if (ok % PROBE_EVERY !== 0 || registrars === undefined) return;
        registrars.probeAll();
        probes++;
      });
      const ms = Date.now() - t0;
      const done = {
        registers: r.ok,
        ms,
        store,
        probes,
        probeResult: registrars?.view()[0]?.lastResult,
      };
      return r.stopped === undefined ? done : { ...done, stopped: r.stopped };
    } finally {
      await inst.stop(0);
    }
  } catch (e) {
    return { failed: e instanceof Error ? e.message : String(e) };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
