// Issue 12 §2, the proof: two flowgate registrars sharing a Redis location store (a real
// redis-server) behind one flowgate edge whose edge.registrar is the list of both; three real
// processes (`flowgate start`, from the sources through tsx). Phones (TestUa, RFC 5626 over TCP)
// refresh their registrations and callers (TestCaller, UDP) call them, through the edge, while the
// first registrar is killed (SIGKILL) in the middle of the load. No transaction fails apart from
// those in flight at the moment of the kill; the edge marks the dead registrar down (one log
// line), every phone stays registered, calls keep working; started again, it is up again and takes
// the traffic back (priority order). Everything on loopback and bounded in time.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCtl } from '../../../src/cli/ctl.js';
import { freePort, waitFor } from '../../support/net.js';
import { RedisServer, redisSkipReason } from '../../support/redis-server.js';
import { TestCaller, TestUa } from '../../support/ua.js';
import { ROOT, Running } from '../cli/helpers.js';

const TOKEN = 'failover-test-token-0123456789abcdef';
const PHONES = 16;
const CALLERS = 4;
/** Load before the kill, and after it. */
const BEFORE_MS = 2500;
const AFTER_MS = 6000;
/** Pause between two REGISTERs of one phone, and between two calls of one caller. */
const REGISTER_GAP_MS = 40;
const CALL_GAP_MS = 20;
/** A transaction with no final response after this long has failed. */
const ANSWER_MS = 4000;

/** `flowgate start` from the sources (no build needed). */
const CLI_TS: readonly [string, ...string[]] = [
  process.execPath,
  '--import',
  'tsx',
  join(ROOT, 'src', 'cli', 'main.ts'),
];

interface Tx {
  readonly kind: 'REGISTER' | 'INVITE';
  readonly start: number;
  end: number;
  /** 0: no final response (timeout or error). */
  status: number;
}

async function api(url: string, path: string): Promise<unknown> {
  const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await r.text();
  return path === '/metrics' ? text : JSON.parse(text);
}

interface RegistrarRow {
  uri: string;
  state: string;
  last_result: string | null;
  failovers: number;
}

describe('registrar set failover with real processes (issue 12 §2)', {
  skip: redisSkipReason(),
}, () => {
  let redis: RedisServer | undefined;
  let dir = '';
  const procs: Running[] = [];
  let reg1: Running | undefined;
  let reg2: Running | undefined;
  let edge: Running | undefined;
  let p1 = 0;
  let p2 = 0;
  const phones: TestUa[] = [];
  const callers: TestCaller[] = [];

  const startRegistrar = async (n: number): Promise<Running> => {
    const r = await Running.start(['-c', join(dir, `registrar${n}.yaml`)], { command: CLI_TS });
    if (r.exitCode !== undefined) throw new Error(`registrar ${n} did not start:\n${r.stderr}`);
    procs.push(r);
    return r;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flowgate-failover-'));
    redis = await RedisServer.start();
    p1 = await freePort('udp');
    p2 = await freePort('udp');
    for (const [n, port] of [
      [1, p1],
      [2, p2],
    ] as const)
      writeFileSync(
        join(dir, `registrar${n}.yaml`),
        [
          `data_dir: ${join(dir, `r${n}`)}`,
          `management: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
          'elements:',
          '  registrar:',
          `    listen: [udp:127.0.0.1:${port}]`,
          '    modules:',
          `      usrloc: { backend: redis, url: "${redis.url}", prefix: "fo:" }`,
          '',
        ].join('\n'),
      );
    writeFileSync(
      join(dir, 'edge.yaml'),
      [
        `data_dir: ${join(dir, 'e')}`,
        `management: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
        'elements:',
        '  edge:',
        '    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]',
        '    edge:',
        `      registrar: [sip:127.0.0.1:${p1}, sip:127.0.0.1:${p2}]`,
        '      registrar_probe_interval: 1',
        '      registrar_probe_threshold: 2',
        '      registrar_timeout: 1500',
        '',
      ].join('\n'),
    );
    reg1 = await startRegistrar(1);
    reg2 = await startRegistrar(2);
    edge = await Running.start(['-c', join(dir, 'edge.yaml')], { command: CLI_TS });
    procs.push(edge);
    if (edge.exitCode !== undefined) throw new Error(`the edge did not start:\n${edge.stderr}`);
  });

  after(async () => {
    for (const p of phones) p.close();
    for (const c of callers) await c.close();
    for (const p of procs) p.kill();
    await redis?.dispose();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  test('a registrar killed under REGISTER and call load: nothing fails but what was in flight; phones stay registered', async (t) => {
    assert.ok(edge && reg1 && reg2);
    const edgeTcp = edge.port('edge', 'tcp');
    const edgeUdp = edge.port('edge', 'udp');
    const url = edge.managementUrl;
    const registrars = async (): Promise<RegistrarRow[]> =>
      ((await api(url, '/v1/registrars')) as { registrars: RegistrarRow[] }).registrars;
    // both up, and probed
    let rows: RegistrarRow[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      rows = await registrars();
      if (rows.length === 2 && rows.every((r) => r.state === 'up' && r.last_result !== null)) break;
      await sleep(200);
    }
    assert.deepEqual(
      rows.map((r) => [r.uri, r.state]),
      [
        [`sip:127.0.0.1:${p1}`, 'up'],
        [`sip:127.0.0.1:${p2}`, 'up'],
      ],
    );

    for (let i = 0; i < PHONES; i++) {
      const ua = await TestUa.connect('tcp', '127.0.0.1', edgeTcp, { user: `u${i}` });
      phones.push(ua);
      assert.equal((await ua.register()).status, 200, `u${i} registers`);
    }
    for (let i = 0; i < CALLERS; i++) callers.push(await TestCaller.open());

    const txs: Tx[] = [];
    let stop = false;
    const record = async (kind: Tx['kind'], fn: () => Promise<number>): Promise<void> => {
      const tx: Tx = { kind, start: Date.now(), end: 0, status: 0 };
      txs.push(tx);
      try {
        tx.status = await fn();
      } catch {
        tx.status = 0;
      }
      tx.end = Date.now();
    };
    const registerLoop = async (ua: TestUa): Promise<void> => {
      while (!stop) {
        await record('REGISTER', async () => (await ua.register()).status);
        await sleep(REGISTER_GAP_MS);
      }
    };
    const callLoop = async (c: TestCaller, n: number): Promise<void> => {
      let k = n;
      while (!stop) {
        const user = `u${k++ % PHONES}`;
        await record('INVITE', async () => {
          const r = await c.call(`sip:${user}@example.com`, '127.0.0.1', edgeUdp, ANSWER_MS);
          return r.status;
        });
        await sleep(CALL_GAP_MS);
      }
    };
    const loops = [
      ...phones.map((ua) => registerLoop(ua)),
      ...callers.map((c, i) => callLoop(c, i * 3)),
    ];

    await sleep(BEFORE_MS);
    const killedAt = Date.now();
    reg1.kill(); // SIGKILL: a crash, nothing drained
    await waitFor(() => reg1?.exitCode !== undefined, 5000, 'registrar 1 to die');
    await sleep(AFTER_MS);
    stop = true;
    await Promise.all(loops);

    const failed = txs.filter((x) => x.status < 200 || x.status >= 300);
    const inFlight = (x: Tx): boolean => x.start <= killedAt && x.end >= killedAt;
    const unexplained = failed.filter((x) => !inFlight(x));
    const after = txs.filter((x) => x.start > killedAt);
    const count = (k: Tx['kind'], xs: Tx[]): number => xs.filter((x) => x.kind === k).length;
    const slow = after.filter((x) => x.end - x.start > 1000).length;
    t.diagnostic(
      `REGISTER ${count('REGISTER', txs)} (after the kill ${count('REGISTER', after)}), INVITE ${count('INVITE', txs)} (after the kill ${count('INVITE', after)}); failed ${failed.length}: REGISTER ${count('REGISTER', failed)}, INVITE ${count('INVITE', failed)}, all in flight at the kill; ${slow} after the kill took over 1 s (waiting out registrar_timeout)`,
    );
    assert.deepEqual(
      unexplained.map((x) => `${x.kind} +${x.start - killedAt} ms: ${x.status}`),
      [],
      'only transactions in flight at the kill may fail',
    );
    assert.ok(count('REGISTER', after) > 50 && count('INVITE', after) > 20, 'load went on');

    rows = await registrars();
    assert.deepEqual(
      rows.map((r) => [r.uri, r.state]),
      [
        [`sip:127.0.0.1:${p1}`, 'down'],
        [`sip:127.0.0.1:${p2}`, 'up'],
      ],
    );
    t.diagnostic(
      `edge: registrar 1 ${rows[0]?.state} (last probe: ${rows[0]?.last_result}, ${rows[0]?.failovers} requests failed over from it)`,
    );
    // flowgate ctl registrars shows the same
    const ctl = await runCtl(
      { url, token: TOKEN },
      {
        command: 'registrars',
        args: [],
        json: false,
        element: undefined,
        limit: undefined,
        cursor: undefined,
        transport: undefined,
      },
    );
    assert.equal(ctl.code, 0, ctl.stderr);
    assert.match(
      ctl.stdout,
      /^ELEMENT +REGISTRAR +STATE +FOR +LAST PROBE +RESULT +FAILURES +FAILOVERS/,
    );
    assert.match(ctl.stdout, new RegExp(`\nedge +sip:127.0.0.1:${p1} +down .* timeout `));
    assert.match(ctl.stdout, new RegExp(`\nedge +sip:127.0.0.1:${p2} +up .* \\d{3} +0 +0`));
    t.diagnostic(`flowgate ctl registrars:\n${ctl.stdout}`);
    const metrics = (await api(url, '/metrics')) as string;
    assert.match(
      metrics,
      new RegExp(`flowgate_registrar_up\\{element="edge",registrar="sip:127.0.0.1:${p1}"\\} 0`),
    );
    assert.match(
      metrics,
      new RegExp(`flowgate_registrar_up\\{element="edge",registrar="sip:127.0.0.1:${p2}"\\} 1`),
    );
    const downLines = edge.logs().filter((l) => /is down after/.test(String(l['msg'])));
    assert.equal(downLines.length, 1, 'one log line for the change of state');

    // every phone is registered: its refresh succeeds, and a call reaches it
    for (const ua of phones) assert.equal((await ua.register()).status, 200);
    const bindings = (await api(reg2.managementUrl, '/v1/bindings?limit=1000')) as {
      bindings: { aor: string }[];
    };
    assert.equal(new Set(bindings.bindings.map((b) => b.aor)).size, PHONES);
    for (let i = 0; i < PHONES; i += 5) {
      const r = await callers[0]?.call(`sip:u${i}@example.com`, '127.0.0.1', edgeUdp);
      assert.equal(r?.status, 200, `a call to u${i}`);
    }

    // started again: a probe finds it, it is up (one log line), and takes the traffic back
    const reg1b = await startRegistrar(1);
    const upBy = Date.now() + 10_000;
    while (Date.now() < upBy) {
      rows = await registrars();
      if (rows[0]?.state === 'up') break;
      await sleep(200);
    }
    assert.equal(rows[0]?.state, 'up');
    assert.equal(edge.logs().filter((l) => /is up: it answered/.test(String(l['msg']))).length, 1);
    const reg1Registers = async (): Promise<number> => {
      const s = (await api(reg1b.managementUrl, '/v1/stats')) as {
        elements: Record<string, { requests: Record<string, number> }>;
      };
      return s.elements['registrar']?.requests['REGISTER'] ?? 0;
    };
    const n0 = await reg1Registers();
    for (const ua of phones.slice(0, 4)) assert.equal((await ua.register()).status, 200);
    assert.equal((await reg1Registers()) - n0, 4, 'REGISTERs go to the first registrar again');
  });
});
