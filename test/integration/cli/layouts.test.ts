// Issue 14 §1: the two-host layout as shipped. examples/registrar.yaml and examples/edge.yaml run
// unchanged as two `flowgate start` processes, their addresses and ports set through the
// environment references of the files (loopback addresses stand for the public and the private
// network), and the public name sip.example.com mapped by the test's own resolver (a preload: no
// DNS query leaves the machine). Users are added with `flowgate user add --password-stdin`; phones
// register through the edge's public listeners with credentials, and a call to a registered phone
// completes: the registrar reaches the phone through the edge's private address in the Path.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../support/net.js';
import { TestUa, type UaTransport } from '../../support/ua.js';
import { bye, calleeDialog, callFrom } from '../../support/ua-call.js';
import { CLI, ensureBuilt, ROOT, Running, type RunResult } from './helpers.js';

const EDGE_PUBLIC_IP = '127.0.74.1';
const EDGE_PRIVATE_IP = '127.0.74.2';
const REGISTRAR_IP = '127.0.74.3';
const PRELOAD = resolve(import.meta.dirname, '..', '..', 'support', 'dns-hosts.mjs');
const DIR = mkdtempSync(join(tmpdir(), 'flowgate-layouts-'));
const pw = (u: string): string => `${u}-secret-1234`;

/** `flowgate user add` with the password on stdin (bounded). */
function addUser(aor: string, env: NodeJS.ProcessEnv, dataDir: string): Promise<RunResult> {
  return new Promise((done, reject) => {
    const p = spawn(
      process.execPath,
      [
        CLI,
        'user',
        'add',
        aor,
        '-c',
        'examples/registrar.yaml',
        '--data-dir',
        dataDir,
        '--password-stdin',
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`flowgate user add ${aor} did not finish\n${stderr}`));
    }, 15_000);
    p.on('close', (code) => {
      clearTimeout(t);
      done({ code, stdout, stderr });
    });
    p.stdin.end(`${pw(aor.split('@')[0] ?? '')}\n`);
  });
}

describe('examples/edge.yaml + examples/registrar.yaml on loopback (issue 14 §1)', {
  timeout: 90_000,
}, () => {
  const procs: Running[] = [];
  const uas: TestUa[] = [];
  let edge: Running;
  let registrar: Running;
  let env: NodeJS.ProcessEnv;
  const regDir = join(DIR, 'registrar');
  const edgeDir = join(DIR, 'edge');
  const dnsLog = join(DIR, 'dns.log');
  let nextHost = 20;

  before(async () => {
    ensureBuilt();
    const sip = await freePort('tcp', EDGE_PUBLIC_IP);
    env = {
      EDGE_PUBLIC_IP,
      EDGE_PRIVATE_IP,
      REGISTRAR_IP,
      EDGE_SIP_PORT: String(sip),
      EDGE_WS_PORT: String(await freePort('tcp', EDGE_PUBLIC_IP)),
      EDGE_PRIVATE_PORT: String(await freePort('tcp', EDGE_PRIVATE_IP)),
      REGISTRAR_PORT: String(await freePort('tcp', REGISTRAR_IP)),
      EDGE_MANAGEMENT: `127.0.0.1:${await freePort('tcp')}`,
      REGISTRAR_MANAGEMENT: `127.0.0.1:${await freePort('tcp')}`,
      // the test's resolver: the public name is the edge's public address, nothing else resolves
      FLOWGATE_TEST_HOSTS: JSON.stringify({ 'sip.example.com': EDGE_PUBLIC_IP }),
    };
    for (const u of ['alice', 'bob', 'carol', 'dave'].map((x) => `${x}@example.com`)) {
      const r = await addUser(u, env, regDir);
      assert.equal(r.code, 0, r.stderr);
    }
    const start = async (file: string, dataDir: string): Promise<Running> => {
      const r = await Running.start(['-c', file, '--data-dir', dataDir], {
        env: {
          ...env,
          FLOWGATE_TEST_DNS_LOG: `${dnsLog}.${dataDir === regDir ? 'registrar' : 'edge'}`,
        },
        command: [process.execPath, '--import', PRELOAD, CLI],
      });
      procs.push(r);
      assert.equal(r.exitCode, undefined, r.stderr);
      return r;
    };
    registrar = await start('examples/registrar.yaml', regDir);
    edge = await start('examples/edge.yaml', edgeDir);
  });

  after(async () => {
    for (const u of uas) u.close();
    for (const p of procs.reverse()) {
      await p.stop().catch(() => p.kill());
      p.kill();
    }
    rmSync(DIR, { recursive: true, force: true });
  });

  async function phone(user: string, t: UaTransport): Promise<TestUa> {
    const port = t === 'ws' ? Number(env['EDGE_WS_PORT']) : Number(env['EDGE_SIP_PORT']);
    const u = await TestUa.connect(t, EDGE_PUBLIC_IP, port, {
      user,
      localAddress: `127.0.74.${nextHost++}`,
    });
    uas.push(u);
    return u;
  }

  async function bindings(aor: string): Promise<{ path: string[]; contact: string }[]> {
    const token = readFileSync(join(regDir, 'management.token'), 'utf8').trim();
    const res = await fetch(
      `${registrar.managementUrl}/v1/bindings?aor=${encodeURIComponent(aor)}`,
      { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) },
    );
    assert.equal(res.status, 200);
    return ((await res.json()) as { bindings: { path: string[]; contact: string }[] }).bindings;
  }

  test('both processes listen where the environment says: the edge on its public and private address', () => {
    const sip = env['EDGE_SIP_PORT'];
    const priv = env['EDGE_PRIVATE_PORT'];
    assert.deepEqual(edge.listeners.get('edge'), [
      `udp:${EDGE_PUBLIC_IP}:${sip}`,
      `tcp:${EDGE_PUBLIC_IP}:${sip}`,
      `ws:${EDGE_PUBLIC_IP}:${env['EDGE_WS_PORT']}`,
      `udp:${EDGE_PRIVATE_IP}:${priv}`,
      `tcp:${EDGE_PRIVATE_IP}:${priv}`,
    ]);
    assert.deepEqual(registrar.listeners.get('registrar'), [
      `udp:${REGISTRAR_IP}:${env['REGISTRAR_PORT']}`,
      `tcp:${REGISTRAR_IP}:${env['REGISTRAR_PORT']}`,
    ]);
    // what a phone is told: the public name
    assert.match(edge.stderr, new RegExp(`outbound proxy: sip:sip\\.example\\.com:${sip}`));
  });

  for (const [callee, calleeT, caller, callerT] of [
    ['alice', 'udp', 'bob', 'tcp'],
    ['carol', 'tcp', 'dave', 'ws'],
  ] as const) {
    test(`${callee} registers over ${calleeT} with credentials; ${caller} (${callerT}) calls ${callee} and the call completes`, async () => {
      const a = await phone(callee, calleeT);
      const reg = await a.register({
        regId: 1,
        auth: { username: callee, password: pw(callee) },
      });
      assert.equal(reg.status, 200, reg.toString());
      assert.equal(reg.getHeader('Flow-Timer'), '20');
      // the registrar reaches the phone through the edge's private address, never the public name
      const [b, ...more] = await bindings(`sip:${callee}@example.com`);
      assert.equal(more.length, 0);
      assert.equal(b?.path.length, 1);
      const privatePath = new RegExp(
        `^<sip:[^@]+@${EDGE_PRIVATE_IP.replace(/\./g, '\\.')}:${env['EDGE_PRIVATE_PORT']};lr;ob>$`,
      );
      assert.match(b?.path[0] ?? '', privatePath);

      const c = await phone(caller, callerT);
      const cr = await c.register({ regId: 1, auth: { username: caller, password: pw(caller) } });
      assert.equal(cr.status, 200, cr.toString());
      const before = a.requests.length;
      const call = await callFrom(c, `sip:${callee}@example.com`, {
        auth: { username: caller, password: pw(caller) },
      });
      assert.equal(call.challenge?.status, 407, 'the registrar challenges the INVITE');
      assert.equal(call.status, 200, call.response.toString());
      const invite = await a.nextRequest('INVITE', 5000, before);
      // the phone sees the public name in the edge's Record-Route (its own side of the edge)
      assert.ok(
        invite.getValues('Record-Route').some((r) => r.includes('sip.example.com')),
        invite.toString(),
      );
      await a.nextRequest('ACK', 5000, before);
      assert.ok(call.dialog !== undefined);
      // hang up from the callee's side: along the route set, through both elements
      const hangup = await bye(a, calleeDialog(a, invite));
      assert.equal(hangup.status, 200, hangup.toString());
    });
  }

  test('the registrar never asked for the public name (the test resolver saw every question)', () => {
    let asked = '';
    try {
      asked = readFileSync(`${dnsLog}.registrar`, 'utf8');
    } catch {
      // no question at all
    }
    assert.doesNotMatch(asked, /sip\.example\.com/);
  });
});
