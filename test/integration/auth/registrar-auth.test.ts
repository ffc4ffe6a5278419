// Issue 10 §1-§3: the built-in registrar with authentication, behind the built-in edge, over real
// UDP/TCP on loopback: 401 challenges with SHA-256 and MD5, the user must own the To AoR, wrong and
// replayed credentials are refused and store nothing, unknown and known users are answered alike.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, startInstance } from '../../../src/cli/instance.js';
import { parseConfig } from '../../../src/config/load.js';
import { createCredentialStore, newSubscriber } from '../../../src/modules/auth/store/index.js';
import { noopLogger } from '../../../src/util/logger.js';
import { digestAuthorization, parseChallenge } from '../../support/digest.js';
import { TestUa } from '../../support/ua.js';

const PASSWORD = 'alice-secret-1234';

describe('registrar authentication behind the edge (issue 10)', () => {
  let dir: string;
  let inst: Instance;
  let edgePort: number;
  const uas: TestUa[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-auth-'));
    const store = createCredentialStore({
      backend: 'sqlite',
      path: join(dir, 'subscriber.db'),
      use_domain: true,
    });
    await store.open();
    const now = Date.now();
    for (const u of ['alice', 'bob'])
      await store.put(
        newSubscriber(
          { username: u, domain: 'example.com' },
          'example.com',
          `${u === 'alice' ? PASSWORD : 'bob-secret-1234'}`,
          now,
        ),
      );
    await store.close();
    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: false }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
  registrar:
    listen: [udp:127.0.0.1:0]
    alias: [example.com]
    modules:
      auth: {}
      usrloc: { backend: memory }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'test' });
    const edge = inst.elements.find((e) => e.config.name === 'edge');
    edgePort = edge?.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
  });

  after(async () => {
    for (const u of uas) u.close();
    await inst?.stop(0);
    rmSync(dir, { recursive: true, force: true });
  });

  async function ua(user: string, transport: 'udp' | 'tcp' = 'udp'): Promise<TestUa> {
    const edge = inst.elements.find((e) => e.config.name === 'edge');
    const port = edge?.listeners.find((l) => l.proto === transport)?.port ?? 0;
    const u = await TestUa.connect(transport, '127.0.0.1', port, { user });
    uas.push(u);
    return u;
  }

  function bindings(aor: string): Promise<unknown[]> {
    const reg = inst.elements.find((e) => e.config.name === 'registrar');
    return reg?.location?.get(aor) as Promise<unknown[]>;
  }

  test('REGISTER without credentials: 401 offering SHA-256 then MD5 with one nonce, qop=auth (RFC 8760)', async () => {
    const a = await ua('alice');
    const r = await a.register();
    assert.equal(r.status, 401);
    const ch = r.getHeaders('WWW-Authenticate');
    assert.equal(ch.length, 2);
    const [sha, md5] = ch.map(parseChallenge);
    assert.equal(sha?.get('algorithm'), 'SHA-256');
    assert.equal(md5?.get('algorithm'), 'MD5');
    assert.equal(sha?.get('realm'), 'example.com');
    assert.equal(sha?.get('qop'), 'auth');
    assert.equal(sha?.get('nonce'), md5?.get('nonce'));
    assert.equal((await bindings('alice')).length, 0);
  });

  for (const algorithm of ['SHA-256', 'MD5'] as const) {
    test(`REGISTER with ${algorithm} credentials is saved`, async () => {
      const a = await ua('alice');
      const r = await a.register({ auth: { username: 'alice', password: PASSWORD, algorithm } });
      assert.equal(r.status, 200, r.toString());
      assert.ok((await bindings('alice')).length >= 1);
    });
  }

  test('a wrong password gets a new 401 and stores nothing; an unknown user is answered alike', async () => {
    const b = await ua('bob');
    const wrong = await b.register({ auth: { username: 'bob', password: 'not-the-password' } });
    assert.equal(wrong.status, 401);
    assert.equal((await bindings('bob')).length, 0);
    const m = await ua('mallory');
    const unknown = await m.register({ auth: { username: 'mallory', password: 'whatever-1234' } });
    assert.equal(unknown.status, 401);
    assert.deepEqual(
      wrong.getHeaders('WWW-Authenticate').map((h) => h.replace(/nonce="[^"]+"/, '')),
      unknown.getHeaders('WWW-Authenticate').map((h) => h.replace(/nonce="[^"]+"/, '')),
    );
    assert.equal(wrong.reason, unknown.reason);
  });

  test("alice's credentials do not register bob's AoR: 403", async () => {
    const a = await ua('alice');
    // a REGISTER for bob answered with alice's credentials
    const first = await a.register({ extra: '' });
    assert.equal(first.status, 401);
    const ch = first.getHeaders('WWW-Authenticate')[0] ?? '';
    const authz = digestAuthorization(
      ch,
      { method: 'REGISTER', uri: 'sip:example.com' },
      {
        username: 'alice',
        password: PASSWORD,
      },
    );
    const bobUa = await ua('bob');
    const r = await bobUa.register({ extra: `Authorization: ${authz}\n` });
    assert.equal(r.status, 403);
    assert.equal((await bindings('bob')).length, 0);
  });

  test('a replayed Authorization (same nonce and nc) is refused', async () => {
    const a = await ua('alice');
    const ok = await a.register({ auth: { username: 'alice', password: PASSWORD } });
    assert.equal(ok.status, 200);
    const replay = await a.register({
      extra: `Authorization: ${a.lastAuthorization}\n`,
      expires: 0,
    });
    assert.equal(replay.status, 401);
    assert.ok((await bindings('alice')).length >= 1, 'the replayed un-REGISTER removed nothing');
  });

  test('a REGISTER for a domain that is not ours: 403 before any challenge', async () => {
    const u = await TestUa.connect('udp', '127.0.0.1', edgePort, {
      user: 'alice',
      domain: 'evil.example',
    });
    uas.push(u);
    const r = await u.register();
    assert.equal(r.status, 403);
  });
});
