// Issue 14 §2: certificate renewal without dropping flows. A running `flowgate start` with TLS and
// WSS listeners gets new certificate files and SIGHUP (systemctl reload), then `flowgate ctl
// reload-tls`: the TLS and WSS flows that were open stay up and keep working, and every new
// connection is handed the new certificate. Files that do not fit together change nothing.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { WAIT_MS, waitFor } from '../../support/net.js';
import { hasOpenssl, makeTestPki, type TestPki } from '../../support/tls.js';
import { TestUa } from '../../support/ua.js';
import { ensureBuilt, Running, run } from './helpers.js';

const TOKEN = 'tls-reload-test-token-0123456789';

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is handed. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.setTimeout(WAIT_MS, () => {
      s.destroy();
      reject(new Error(`no TLS handshake with 127.0.0.1:${port}`));
    });
    s.once('error', reject);
  });
}

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe('TLS certificate reload: SIGHUP and ctl reload-tls keep open flows (issue 14 §2)', {
  skip: hasOpenssl() ? false : 'openssl is not installed',
  timeout: 60_000,
}, () => {
  let dir: string;
  let a: TestPki;
  let b: TestPki;
  let fg: Running;
  const uas: TestUa[] = [];
  const install = (cert: string, key: string): void => {
    // as a renewal tool writes them: new files under the configured names
    writeFileSync(join(dir, 'server.pem'), cert);
    writeFileSync(join(dir, 'server.key'), key);
  };

  before(async () => {
    ensureBuilt();
    a = makeTestPki();
    b = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'flowgate-tls-reload-'));
    install(a.cert, a.key);
    const cfg = join(dir, 'flowgate.yaml');
    writeFileSync(
      cfg,
      [
        `management: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
        'elements:',
        '  edge:',
        '    listen: [udp:127.0.0.1:0, tls:127.0.0.1:0, wss:127.0.0.1:0]',
        '    tls: { cert: server.pem, key: server.key }',
        '  registrar:',
        '    listen: [udp:127.0.0.1:0]',
        '',
      ].join('\n'),
    );
    fg = await Running.start(['-c', cfg, '--data-dir', join(dir, 'data')]);
    assert.equal(fg.exitCode, undefined, fg.stderr);
  });

  after(async () => {
    for (const u of uas) u.close();
    await fg?.stop().catch(() => fg.kill());
    fg?.kill();
    a?.cleanup();
    b?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function phone(user: string, t: 'tls' | 'wss', ca: string): Promise<TestUa> {
    const u = await TestUa.connect(t, '127.0.0.1', fg.port('edge', t), { user, ca });
    uas.push(u);
    assert.equal((await u.register({ regId: 1 })).status, 200);
    return u;
  }

  test('SIGHUP: open TLS and WSS flows stay up and work; new connections get the new certificate', async () => {
    const tlsUa = await phone('alice', 'tls', a.ca);
    const wssUa = await phone('bob', 'wss', a.ca);
    assert.equal(await servedFingerprint(fg.port('edge', 'tls'), a.ca), fingerprint(a.cert));

    install(b.cert, b.key);
    fg.proc.kill('SIGHUP');
    await waitFor(
      () =>
        fg
          .logs()
          .some(
            (l) =>
              l['msg'] === 'TLS certificate reloaded (SIGHUP): open flows keep theirs' &&
              l['fingerprint256'] === fingerprint(b.cert),
          ),
      WAIT_MS,
      'the TLS reload log line',
    );

    for (const t of ['tls', 'wss'] as const)
      assert.equal(
        await servedFingerprint(fg.port('edge', t), b.ca),
        fingerprint(b.cert),
        `a new ${t} connection`,
      );
    // the flows opened before: same connections, still answered
    await tlsUa.ping();
    assert.equal((await tlsUa.register({ regId: 1 })).status, 200);
    assert.equal((await wssUa.register({ regId: 1 })).status, 200);
    assert.equal(tlsUa.closed, false);
    assert.equal(wssUa.closed, false);
  });

  test('ctl reload-tls: the same through the management API, and what is in use now', async () => {
    const tlsUa = await phone('carol', 'tls', b.ca);
    install(a.cert, a.key);
    const r = await run(['ctl', '--url', fg.managementUrl, '--token', TOKEN, 'reload-tls']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^edge: reloaded .*CN=localhost.*, valid until \d{4}-\d\d-\d\dT.*, sha256 /,
    );
    assert.ok(r.stdout.includes(fingerprint(a.cert)), r.stdout);
    assert.equal(await servedFingerprint(fg.port('edge', 'tls'), a.ca), fingerprint(a.cert));
    assert.equal((await tlsUa.register({ regId: 1 })).status, 200, 'the flow opened under b');
  });

  test('files that do not fit together: exit 1 with the reason, the certificate in use stays, flows stay', async () => {
    const tlsUa = await phone('dave', 'tls', a.ca);
    install(b.cert, a.key); // a renewal caught halfway: new certificate, old key
    const r = await run(['ctl', '--url', fg.managementUrl, '--token', TOKEN, 'reload-tls']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `flowgate ctl: edge: the key in ${join(dir, 'server.key')} does not belong to the certificate in ${join(dir, 'server.pem')}: install both files of one renewal (the previous certificate stays in use)\n`,
    );
    assert.equal(await servedFingerprint(fg.port('edge', 'tls'), a.ca), fingerprint(a.cert));
    assert.equal((await tlsUa.register({ regId: 1 })).status, 200);
    assert.ok(
      fg.logs().some((l) => /^TLS reload failed for edge: /.test(String(l['msg']))),
      'logged',
    );
  });
});
