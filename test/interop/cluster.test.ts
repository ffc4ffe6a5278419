// Issue 12 §6: examples/cluster/ started by its one command (run.sh) — a Redis master, a replica,
// three sentinels, two registrars and two edges — passes a call across edges and registrars. A
// phone (sipp, RFC 5626 outbound over TCP) registers through edge-a, whose first registrar is
// registrar-1; a caller (sipp, UDP) calls it through edge-b, whose first registrar is registrar-2,
// which finds the binding in the shared Redis (through Sentinel) and reaches the phone through
// edge-a's Path. The call is answered (200) and hung up (BYE, 200). Then Ctrl-C (SIGINT to run.sh's
// process group, as a terminal sends it) stops everything: run.sh exits 0 and every process it
// started is gone. Each run takes addresses of its own in 127.0.0.0/8 (CLUSTER_NET).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureBuilt, ROOT } from '../integration/cli/helpers.js';
import { waitFor } from '../support/net.js';
import {
  headerValues,
  runSipp,
  type SippProcess,
  sippSkip,
  startSipp,
  stopAllPeers,
} from './peers.js';

const RUN_SH = join(ROOT, 'examples', 'cluster', 'run.sh');
const SIPP = join(ROOT, 'examples', 'sipp');
/** Addresses of this run: 127.<100..199>.<1..250>, away from the 127.0.x.y other tests use. */
const NET = `127.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}`;
const INSTANCE = '00000000-0000-1000-8000-0000000000c1';

function skipReason(): string | false {
  const missing = ['redis-server', 'redis-sentinel', 'redis-cli'].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0)
    return `${missing.join(', ')} not installed (apt-get install redis-server redis-sentinel redis-tools): cluster example test skipped`;
  return sippSkip();
}

/** Is a process with this PID (or, negative, this process group) still there? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const skip = skipReason();
// run.sh runs dist/ (as `npm run cluster` does): build it first when stale, outside the time bound
if (skip === false) ensureBuilt();

describe('examples/cluster: one command, a call across edges and registrars', {
  skip,
  timeout: 60_000,
}, () => {
  let dir = '';
  let runner: ChildProcess | undefined;
  let out = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** name -> PID, from run.sh's pids file. */
  const pids = new Map<string, number>();
  let phone: SippProcess | undefined;
  const killGroup = (): void => {
    if (runner?.pid !== undefined && exit === undefined) process.kill(-runner.pid, 'SIGKILL');
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flowgate-cluster-test-'));
    // its own process group: Ctrl-C is a SIGINT to the group, and nothing may be left in it
    runner = spawn('bash', [RUN_SH, dir], {
      cwd: ROOT,
      env: { ...process.env, CLUSTER_NET: NET },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    runner.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    runner.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    runner.on('exit', (code, signal) => {
      exit = { code, signal };
    });
    // never outlive the test process, even when after() does not run
    process.once('exit', killGroup);
    await waitFor(
      () => /^ready /m.test(out) || exit !== undefined,
      40_000,
      'examples/cluster/run.sh to print "ready"',
    );
    assert.equal(exit, undefined, `run.sh exited at start:\n${out}`);
    for (const line of readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n')) {
      const [name, pid] = line.split(' ');
      pids.set(name ?? '', Number(pid));
    }
  });

  after(async () => {
    await stopAllPeers();
    killGroup();
    for (const pid of pids.values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    process.removeListener('exit', killGroup);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** A registrar's or edge's management API, with the token it wrote into its data directory. */
  async function api(name: string, host: string, path: string): Promise<string> {
    const token = readFileSync(join(dir, name, 'management.token'), 'utf8').trim();
    const r = await fetch(`http://${host}:8081${path}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(r.status, 200, `${name} ${path}`);
    return r.text();
  }

  /** flowgate_requests_total of one registrar, by method. */
  async function requests(name: string, host: string): Promise<Record<string, number>> {
    const text = await api(name, host, '/metrics');
    const by: Record<string, number> = {};
    for (const m of text.matchAll(/^flowgate_requests_total\{[^}]*method="(\w+)"\} (\d+)$/gm))
      by[m[1] ?? ''] = Number(m[2]);
    return by;
  }

  test('run.sh started nine processes and says where the edges listen', () => {
    assert.deepEqual(
      [...pids.keys()],
      [
        'redis-master',
        'redis-replica',
        'sentinel-1',
        'sentinel-2',
        'sentinel-3',
        'registrar-1',
        'registrar-2',
        'edge-a',
        'edge-b',
      ],
    );
    for (const [name, pid] of pids) assert.ok(alive(pid), `${name} (${pid}) runs`);
    assert.match(out, new RegExp(`^edges: sip:${NET}\\.1:5060 sip:${NET}\\.2:5060$`, 'm'));
  });

  test('a phone registered through edge-a is called through edge-b: 200, ACK, BYE, 200', async () => {
    phone = await startSipp(join(SIPP, 'uas-register-answer.xml'), {
      target: `${NET}.1:5060`,
      transport: 't1',
      localIp: `${NET}.101`,
      keys: { user: 'alice', instance: INSTANCE, expires: 600 },
      extraArgs: ['-oocsf', join(SIPP, 'uas-register-answer-call.xml')],
      timeoutMs: 30_000,
    });
    // the binding, written by registrar-1, is what registrar-2 reads from the shared Redis
    const aor = encodeURIComponent('sip:alice@example.com');
    let bindings: { contact: string; path: string[] }[] = [];
    const deadline = Date.now() + 10_000;
    while (bindings.length === 0 && Date.now() < deadline) {
      const body = await api('registrar-2', `${NET}.12`, `/v1/bindings?aor=${aor}`);
      bindings = (JSON.parse(body) as { bindings: typeof bindings }).bindings;
      if (bindings.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(bindings.length, 1, 'registrar-2 sees the binding registrar-1 stored');
    assert.match(bindings[0]?.contact ?? '', new RegExp(`@${NET.replaceAll('.', '\\.')}\\.101:`));
    assert.match(
      bindings[0]?.path[0] ?? '',
      new RegExp(`@${NET.replaceAll('.', '\\.')}\\.1(:5060)?;lr;ob>`),
      "edge-a's Path, with its flow token",
    );

    const caller = await runSipp(join(SIPP, 'uac-call.xml'), {
      target: `${NET}.2:5060`,
      transport: 'u1',
      localIp: `${NET}.102`,
      service: 'alice',
      timeoutMs: 15_000,
    });
    assert.equal(caller.stats?.successful, 1, caller.summary());
    assert.equal(caller.stats?.failed, 0, caller.summary());
    assert.equal(caller.exitCode, 0, caller.summary());
    const finals = caller.messages
      .filter((m) => m.dir === 'received' && /^SIP\/2\.0 200 /.test(m.line))
      .map((m) => headerValues(m.text, 'CSeq')[0]?.trim());
    assert.deepEqual(finals, ['1 INVITE', '2 BYE'], caller.summary());

    const callee = await phone.done;
    assert.equal(callee.stats?.successful, 1, callee.summary());
    assert.equal(callee.exitCode, 0, callee.summary());

    // the REGISTER went to edge-a's registrar, the call to edge-b's: the call crossed both
    const r1 = await requests('registrar-1', `${NET}.11`);
    const r2 = await requests('registrar-2', `${NET}.12`);
    assert.ok((r1['REGISTER'] ?? 0) >= 1, `registrar-1 took the REGISTER: ${JSON.stringify(r1)}`);
    assert.equal(r1['INVITE'], undefined, `registrar-1 saw no INVITE: ${JSON.stringify(r1)}`);
    assert.equal(r2['REGISTER'], undefined, `registrar-2 saw no REGISTER: ${JSON.stringify(r2)}`);
    assert.equal(r2['INVITE'], 1, `registrar-2 took the call: ${JSON.stringify(r2)}`);
    assert.equal(r2['BYE'], 1, `registrar-2 took the BYE: ${JSON.stringify(r2)}`);
  });

  test('Ctrl-C stops every process it started; run.sh exits 0', async () => {
    assert.ok(runner?.pid !== undefined);
    process.kill(-runner.pid, 'SIGINT');
    await waitFor(() => exit !== undefined, 20_000, 'run.sh to exit after Ctrl-C');
    assert.deepEqual(exit, { code: 0, signal: null }, out);
    assert.match(out, /^stopped$/m);
    const left = [...pids].filter(([, pid]) => alive(pid)).map(([n, pid]) => `${n} (${pid})`);
    assert.deepEqual(left, [], 'no process is left');
    assert.equal(alive(-runner.pid), false, "nothing is left in run.sh's process group");
  });
});
