// Issue 4 §4: the flowgate registrar (seed Example 1.2 as the built-in script) with real peers:
// sipp registering straight to it, and the REAL Kamailio edge (seed Example 1.1) in front of it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LocationStore } from '../../src/modules/location/binding.js';
import { SqliteLocationStore } from '../../src/modules/location/sqlite.js';
import { registrarModule } from '../../src/modules/registrar/index.js';
import { registrarScript } from '../../src/script/registrar.js';
import { TestUa } from '../support/ua.js';
import {
  type FlowgatePeer,
  freePort,
  type KamailioPeer,
  kamailioSkip,
  runSipp,
  sippSkip,
  startFlowgate,
  startKamailio,
  stopAllPeers,
} from './peers.js';

const REG_IP = '127.0.60.2';
const EDGE_IP = '127.0.60.1';

describe('flowgate registrar with real peers (issue 4 §4)', {
  skip: sippSkip() || kamailioSkip(),
  timeout: 180_000,
}, () => {
  let dir: string;
  let port: number;
  let registrar: FlowgatePeer;
  let store: LocationStore;
  let kam: KamailioPeer;

  async function startRegistrar(): Promise<void> {
    store = new SqliteLocationStore({ path: join(dir, 'location.db') });
    await store.open();
    registrar = await startFlowgate({
      name: 'registrar',
      listen: [
        { proto: 'udp', address: REG_IP, port },
        { proto: 'tcp', address: REG_IP, port },
      ],
      script: registrarScript(),
      registrar: registrarModule({ use_path: 1, gruu_enabled: 1, outbound_mode: 1 }, store),
      location: store,
      tm: { restartFrOnEachReply: false },
      aliases: ['example.com'],
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flowgate-reg-'));
    port = await freePort(REG_IP);
    await startRegistrar();
    kam = await startKamailio('edge', { edgeIp: EDGE_IP, regIp: REG_IP, regPort: port });
  });

  after(async () => {
    await stopAllPeers();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of ['u1', 't1'] as const) {
    test(`sipp registers straight to the registrar over ${transport === 'u1' ? 'UDP' : 'TCP'}: 200 with Contact expires, pub-gruu, temp-gruu, +sip.instance, reg-id, Require: outbound`, async () => {
      const user = `direct${transport}`;
      const r = await runSipp('uac-register-outbound.xml', {
        target: `${REG_IP}:${port}`,
        transport,
        localIp: '127.0.60.30',
        keys: {
          user,
          instance: `00000000-0000-1000-8000-00000000000${transport === 'u1' ? 1 : 2}`,
          expires: 600,
        },
        timeoutMs: 15_000,
      });
      assert.equal(r.stats?.successful, 1, r.summary());
      assert.equal(r.stats?.failed, 0, r.summary());
      const bindings = await store.get(user);
      assert.equal(bindings.length, 1);
      assert.equal(bindings[0]?.regId, 1);
      assert.deepEqual(bindings[0]?.path, [], 'no Path: the UA talked to the registrar directly');
    });
  }

  test('through the Kamailio edge: outbound REGISTER stores the edge Path; a sipp caller reaches a user with ONE contact over its flow (decision Q-R7)', async () => {
    const ua = await TestUa.connect('udp', EDGE_IP, kam.edge.port, {
      user: 'single',
      localAddress: '127.0.60.21',
    });
    try {
      const ok = await ua.register({ regId: 1 });
      assert.equal(ok.status, 200);
      assert.equal(ok.getHeader('Require'), 'outbound');
      assert.equal(ok.getHeader('Flow-Timer'), '20', 'added by the Kamailio edge');
      const [b] = await store.get('single');
      assert.match(
        b?.path[0] ?? '',
        new RegExp(
          `^<sip:[A-Za-z0-9+/]{31}=@${EDGE_IP.replace(/\./g, '\\.')}:${kam.edge.port};lr;ob>$`,
        ),
      );
      const r = await runSipp('uac-invite-bye.xml', {
        target: `${REG_IP}:${port}`,
        service: 'single',
        localIp: '127.0.60.31',
        timeoutMs: 15_000,
      });
      assert.equal(r.stats?.successful, 1, r.summary());
      const inv = await ua.nextRequest('INVITE');
      assert.match(
        inv.getHeaders('Record-Route')[0] ?? '',
        new RegExp(`${EDGE_IP.replace(/\./g, '\\.')}`),
      );
    } finally {
      ua.close();
    }
  });

  test('two flows (reg-id 1 and 2); flow 1 dies -> the Kamailio edge answers 430 -> the call completes on flow 2 and the dead binding is gone', async () => {
    const instance = `urn:uuid:${crypto.randomUUID()}`;
    const f1 = await TestUa.connect('udp', EDGE_IP, kam.edge.port, {
      user: 'twoflows',
      instance,
      localAddress: '127.0.60.22',
    });
    const f2 = await TestUa.connect('udp', EDGE_IP, kam.edge.port, {
      user: 'twoflows',
      instance,
      localAddress: '127.0.60.23',
    });
    try {
      assert.equal((await f1.register({ regId: 1, callId: 'two@ua' })).status, 200);
      assert.equal((await f2.register({ regId: 2, callId: 'two@ua' })).status, 200);
      assert.deepEqual(
        (await store.get('twoflows')).map((b) => b.regId),
        [1, 2],
      );
      f1.answer = 'silent'; // the flow is dead: nothing answers on it
      // the seed edge notices only when its fr_timer (30 s) runs out, then answers 430
      const r = await runSipp('uac-invite-bye.xml', {
        target: `${REG_IP}:${port}`,
        service: 'twoflows',
        localIp: '127.0.60.32',
        timeoutMs: 60_000,
      });
      assert.equal(r.stats?.successful, 1, r.summary());
      await f2.nextRequest('INVITE');
      assert.ok(
        f1.requests.some((q) => q.method === 'INVITE'),
        'flow 1 was tried first',
      );
      assert.deepEqual(
        (await store.get('twoflows')).map((b) => b.regId),
        [2],
        'the dead binding was removed',
      );
    } finally {
      f1.close();
      f2.close();
    }
  });

  test('a registrar restart with the SQLite store loses no binding', async () => {
    const ua = await TestUa.connect('udp', EDGE_IP, kam.edge.port, {
      user: 'restart',
      localAddress: '127.0.60.24',
    });
    try {
      assert.equal((await ua.register({ regId: 1 })).status, 200);
      const beforeRestart = await store.get('restart');
      await registrar.close();
      await startRegistrar();
      assert.deepEqual(await store.get('restart'), beforeRestart);
      const r = await runSipp('uac-invite-bye.xml', {
        target: `${REG_IP}:${port}`,
        service: 'restart',
        localIp: '127.0.60.33',
        timeoutMs: 15_000,
      });
      assert.equal(r.stats?.successful, 1, r.summary());
      await ua.nextRequest('INVITE');
    } finally {
      ua.close();
    }
  });
});
