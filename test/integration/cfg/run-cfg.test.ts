// Issue 11: flowgate runs Kamailio configuration files as they are. The acceptance files: the
// Kamailio test peer's edge.cfg.in and registrar.cfg.in rendered exactly as kamailio.sh renders
// them (the edge with WITH_WEBSOCKETS, the registrar with and without WITH_AUTH), and the seed's
// Example 1.1 and 1.2 as printed (only the #!subst addresses changed). Each runs as one
// `flowgate start -c <file>.cfg` process; a UA registers through the edge and is called.
// Free ports on loopback; every process started here is stopped (and checked stopped) after.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqliteCredentialStore } from '../../../src/modules/auth/store/sqlite.js';
import { newSubscriber } from '../../../src/modules/auth/store/users.js';
import { TestCaller, TestUa } from '../../support/ua.js';
import { Running } from '../cli/helpers.js';
import {
  CLI_FROM_SOURCE,
  freeSipPort,
  renderPeerCfg,
  seedEdge,
  seedExamples,
} from './cfg-files.js';

const started: Running[] = [];

async function start(args: string[], cwd: string): Promise<Running> {
  const r = await Running.start(args, {
    cwd,
    command: CLI_FROM_SOURCE,
    waitFor: /^\S+: listening on /m,
  });
  started.push(r);
  assert.equal(r.exitCode, undefined, `flowgate start ${args.join(' ')} exited:\n${r.stderr}`);
  return r;
}

after(async () => {
  for (const r of started) r.kill();
  for (const r of started)
    if (r.exitCode === undefined) await r.stop('SIGKILL').catch(() => undefined);
  // no process outlives the suite
  for (const r of started) assert.notEqual(r.exitCode, undefined, 'a flowgate process still runs');
});

/** Registers `user` over `transport` through the edge; checks the outbound answer. */
async function registerThroughEdge(
  transport: 'udp' | 'tcp' | 'ws',
  port: number,
  user: string,
  auth?: { username: string; password: string },
): Promise<TestUa> {
  const ua = await TestUa.connect(transport, '127.0.0.1', port, { user });
  const r = await ua.register({ regId: 1, ...(auth === undefined ? {} : { auth }) });
  assert.equal(r.status, 200, r.toString());
  // the edge's Path with a flow token and ;ob, echoed by the registrar (use_path 1)
  assert.match(r.getHeader('Path') ?? '', /^<sip:[^@]+@127\.0\.0\.1:\d+(;transport=\w+)?;lr;ob>$/);
  assert.equal(r.getHeader('Require'), 'outbound');
  // the edge's onreply_route: Flow-Timer: FLOW_TIMER (#!substdef) inserted before Call-ID
  assert.equal(r.getHeader('Flow-Timer'), '20');
  const names = r
    .toString()
    .split('\r\n')
    .map((l) => l.split(':')[0]);
  assert.equal(
    names.indexOf('Flow-Timer') + 1,
    names.indexOf('Call-ID'),
    'Flow-Timer right before Call-ID',
  );
  return ua;
}

async function callAndHangUp(ua: TestUa, regPort: number, user: string): Promise<void> {
  const caller = await TestCaller.open();
  try {
    const res = await caller.call(`sip:${user}@example.com`, '127.0.0.1', regPort);
    assert.equal(res.status, 200, res.response.toString());
    const inv = await ua.nextRequest('INVITE');
    assert.ok(inv.getHeaders('Record-Route').length > 0, 'the INVITE came through the edge');
    await ua.nextRequest('BYE');
  } finally {
    await caller.close();
  }
}

describe('the Kamailio test peer configs (kamailio.sh render) run in flowgate', () => {
  let dir: string;
  let edgePort = 0;
  let wsPort = 0;
  let regPort = 0;
  let edge: Running;
  let registrar: Running;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-cfg-'));
    edgePort = await freeSipPort();
    wsPort = await freeSipPort();
    regPort = await freeSipPort();
    const vars = {
      EDGE_IP: '127.0.0.1',
      EDGE_PORT: edgePort,
      WS_PORT: wsPort,
      REG_IP: '127.0.0.1',
      REG_PORT: regPort,
      DBTEXT_DIR: join(dir, 'dbtext'),
    };
    const reg = renderPeerCfg('registrar', vars, dir);
    const e = renderPeerCfg('edge', vars, dir);
    registrar = await start(['-c', reg], dir);
    edge = await start(['-c', e], dir);
  });

  after(async () => {
    for (const r of [edge, registrar])
      if (r !== undefined) assert.equal(await r.stop(), 0, r.stderr);
    rmSync(dir, { recursive: true, force: true });
  });

  test('one process each, listening where the files say (WebSocket on WS_PORT), data beside each file, no management port', () => {
    assert.deepEqual(edge.listeners.get('edge'), [
      `udp:127.0.0.1:${edgePort}`,
      `tcp:127.0.0.1:${edgePort}`,
      `ws:127.0.0.1:${wsPort}`,
    ]);
    assert.deepEqual(registrar.listeners.get('registrar'), [
      `udp:127.0.0.1:${regPort}`,
      `tcp:127.0.0.1:${regPort}`,
    ]);
    assert.match(edge.stderr, new RegExp(`data in ${join(dir, 'edge.data')}`));
    assert.match(registrar.stderr, new RegExp(`data in ${join(dir, 'registrar.data')}`));
    // ctl's default is a local socket flowgate cannot serve: no TCP port is taken for the API
    assert.doesNotMatch(edge.stderr + registrar.stderr, /^management: /m);
  });

  for (const t of ['tcp', 'udp', 'ws'] as const) {
    test(`${t}: a UA registers through the edge (Path, Require: outbound, Flow-Timer: 20) and is called`, async () => {
      const user = `cfg${t}`;
      const ua = await registerThroughEdge(t, t === 'ws' ? wsPort : edgePort, user);
      try {
        await callAndHangUp(ua, regPort, user);
      } finally {
        ua.close();
      }
    });
  }
});

describe('the registrar config with WITH_AUTH (-A WITH_AUTH, as kamailio.sh KAM_AUTH=1)', () => {
  let dir: string;
  let edgePort = 0;
  let regPort = 0;
  let edge: Running;
  let registrar: Running;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-cfg-auth-'));
    edgePort = await freeSipPort();
    regPort = await freeSipPort();
    const vars = {
      EDGE_IP: '127.0.0.1',
      EDGE_PORT: edgePort,
      WS_PORT: await freeSipPort(),
      REG_IP: '127.0.0.1',
      REG_PORT: regPort,
      DBTEXT_DIR: join(dir, 'dbtext'),
    };
    const reg = renderPeerCfg('registrar', vars, dir);
    const e = renderPeerCfg('edge', vars, dir);
    // the users: flowgate keeps them in subscriber.db of the data directory (db_text is not read)
    mkdirSync(join(dir, 'registrar.data'), { recursive: true, mode: 0o700 });
    const store = new SqliteCredentialStore({ path: join(dir, 'registrar.data', 'subscriber.db') });
    await store.open();
    await store.put(
      newSubscriber(
        { username: 'alice', domain: 'example.com' },
        'example.com',
        'alice-secret-1234',
        Date.now(),
      ),
    );
    await store.close();
    registrar = await start(['-A', 'WITH_AUTH', '-c', reg], dir);
    edge = await start(['-c', e], dir);
  });

  after(async () => {
    for (const r of [edge, registrar])
      if (r !== undefined) assert.equal(await r.stop(), 0, r.stderr);
    rmSync(dir, { recursive: true, force: true });
  });

  test('REGISTER is challenged (401) and accepted with the password; the user is called', async () => {
    const ua = await TestUa.connect('tcp', '127.0.0.1', edgePort, { user: 'alice' });
    try {
      const bare = await ua.register({ regId: 1 });
      assert.equal(bare.status, 401, bare.toString());
      assert.match(bare.getHeader('WWW-Authenticate') ?? '', /realm="example\.com"/);
      ua.close();
      const authed = await registerThroughEdge('tcp', edgePort, 'alice', {
        username: 'alice',
        password: 'alice-secret-1234',
      });
      try {
        await callAndHangUp(authed, regPort, 'alice');
      } finally {
        authed.close();
      }
    } finally {
      ua.close();
    }
  });
});

describe("the seed's Example 1.1 and 1.2 as printed (only the #!subst addresses changed)", () => {
  let dir: string;
  let edgePort = 0;
  let regPort = 0;
  let edge: Running;
  let registrar: Running;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-cfg-seed-'));
    edgePort = await freeSipPort();
    regPort = await freeSipPort();
    const { registrar: reg } = seedExamples();
    assert.match(reg, /^MAILIO\n/, 'Example 1.2 as printed starts with "MAILIO"');
    writeFileSync(join(dir, 'registrar.cfg'), reg);
    writeFileSync(join(dir, 'edge.cfg'), seedEdge('127.0.0.1', regPort));
    // the seed has no listen= lines (Kamailio: port 5060 on every address): -l, as Kamailio's -l
    registrar = await start(
      ['-c', 'registrar.cfg', '-l', `udp:127.0.0.1:${regPort}`, '-l', `tcp:127.0.0.1:${regPort}`],
      dir,
    );
    edge = await start(
      ['-c', 'edge.cfg', '-l', `udp:127.0.0.1:${edgePort}`, '-l', `tcp:127.0.0.1:${edgePort}`],
      dir,
    );
  });

  after(async () => {
    for (const r of [edge, registrar])
      if (r !== undefined) assert.equal(await r.stop(), 0, r.stderr);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a UA registers through the seed edge and is called through the seed registrar', async () => {
    const ua = await registerThroughEdge('tcp', edgePort, 'seeduser');
    try {
      await callAndHangUp(ua, regPort, 'seeduser');
    } finally {
      ua.close();
    }
  });
});
