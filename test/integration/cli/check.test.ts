// flowgate check / start against this host: each listener's address must be one of its own and its
// port free (taken by a real socket the test holds), data_dir writable or creatable (never created
// by check), TLS files readable PEM that belong together; every problem of a file in one pass,
// each with file:line:col and the fix. And a bind that fails at start after the check (a race)
// names the element, the listener and the line.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startInstance } from '../../../src/cli/instance.js';
import { ConfigError } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/load.js';
import { noopLogger } from '../../../src/util/logger.js';
import { freePort } from '../../support/net.js';
import { hasOpenssl, makeTestPki, type TestPki } from '../../support/tls.js';
import { ensureBuilt, ROOT, run } from './helpers.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-check-'));
/** TEST-NET-2 (RFC 5737): never an address of a test host. */
const FOREIGN = '198.51.100.7';
const OPENSSL = hasOpenssl();

let pki: TestPki | undefined;
before(() => {
  ensureBuilt();
  if (OPENSSL) pki = makeTestPki();
});
after(() => {
  pki?.cleanup();
  rmSync(DIR, { recursive: true, force: true });
});

function file(name: string, text: string | Buffer): string {
  const p = join(DIR, name);
  writeFileSync(p, text);
  return p;
}

/** Holds a TCP port on 127.0.0.1 as another process would. */
function holdTcp(): Promise<{ port: number; server: Server }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ port: typeof a === 'object' && a !== null ? a.port : 0, server });
    });
  });
}

/** Holds a UDP port on 127.0.0.1. */
function holdUdp(): Promise<{ port: number; socket: DgramSocket }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve({ port: socket.address().port, socket }));
  });
}

describe('flowgate check: this host, data_dir, TLS, all in one pass', () => {
  let tcp: { port: number; server: Server };
  let udp: { port: number; socket: DgramSocket };
  let mgmt: { port: number; server: Server };
  before(async () => {
    tcp = await holdTcp();
    udp = await holdUdp();
    mgmt = await holdTcp();
  });
  after(() => {
    tcp.server.close();
    udp.socket.close();
    mgmt.server.close();
  });

  test('an address not on this host, ports in use, data_dir below a file: every problem, with its line and the fix', async () => {
    file('plain-file', 'x\n');
    file(
      'host.yaml',
      [
        'data_dir: plain-file/data',
        `management: { listen: 127.0.0.1:${mgmt.port}, token: check-test-token-0123456789 }`,
        'elements:',
        '  edge:',
        '    script: static',
        '    allow_unauthenticated: true',
        `    listen: [udp:${FOREIGN}:5060, tcp:127.0.0.1:${tcp.port}, udp:127.0.0.1:${udp.port}]`,
        '  registrar:',
        '    script: static',
        '    listen: [udp:127.0.0.1:0]',
        '',
      ].join('\n'),
    );
    const r = await run(['check', 'host.yaml'], { cwd: DIR });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      [
        `host.yaml:1:11: data_dir: ${join(DIR, 'plain-file', 'data')} cannot be created: ${join(DIR, 'plain-file')} is a file, not a directory; choose another data_dir`,
        `host.yaml:2:23: management.listen: cannot listen on the management API 127.0.0.1:${mgmt.port}: TCP port ${mgmt.port} is already in use on 127.0.0.1 (EADDRINUSE); stop the process that holds it (ss -lntup | grep :${mgmt.port} shows which) or choose another port`,
        `host.yaml:7:14: elements.edge.listen[0]: cannot listen on udp:${FOREIGN}:5060: ${FOREIGN} is not an address of this host (EADDRNOTAVAIL); use one that ip -brief address lists, or 0.0.0.0 for all of them`,
        `host.yaml:7:${14 + `udp:${FOREIGN}:5060, `.length}: elements.edge.listen[1]: cannot listen on tcp:127.0.0.1:${tcp.port}: TCP port ${tcp.port} is already in use on 127.0.0.1 (EADDRINUSE); stop the process that holds it (ss -lntup | grep :${tcp.port} shows which) or choose another port`,
        `host.yaml:7:${14 + `udp:${FOREIGN}:5060, tcp:127.0.0.1:${tcp.port}, `.length}: elements.edge.listen[2]: cannot listen on udp:127.0.0.1:${udp.port}: UDP port ${udp.port} is already in use on 127.0.0.1 (EADDRINUSE); stop the process that holds it (ss -lntup | grep :${udp.port} shows which) or choose another port`,
        '5 problems in host.yaml',
        '',
      ].join('\n'),
    );
    // --no-port-check: the file of a running server; its ports are not tried, its addresses are
    const np = await run(['check', '--no-port-check', 'host.yaml'], { cwd: DIR });
    assert.equal(np.code, 1);
    const lines = np.stderr.trim().split('\n');
    assert.equal(lines.length, 3, np.stderr);
    assert.match(lines[0] ?? '', /^host\.yaml:1:11: data_dir: /);
    assert.match(
      lines[1] ?? '',
      /^host\.yaml:7:14: elements\.edge\.listen\[0\]: .*\(EADDRNOTAVAIL\)/,
    );
    assert.equal(lines[2], '2 problems in host.yaml');
  });

  test('data_dir: check never creates it; --data-dir is checked instead of the file value and named as such', async () => {
    const cfg = file(
      'dd.yaml',
      'data_dir: later/data\nmanagement: { listen: false }\nelements:\n  s: { script: static, listen: [udp:127.0.0.1:0] }\n',
    );
    const ok = await run(['check', cfg]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(existsSync(join(DIR, 'later')), false, 'check created data_dir');
    const notDir = await run(['check', cfg, '--data-dir', file('dd-file', 'x')]);
    assert.equal(notDir.code, 1);
    assert.equal(
      notDir.stderr,
      `command line: --data-dir: ${join(DIR, 'dd-file')} exists and is not a directory: remove it or choose another data_dir\n1 problem in ${cfg}\n`,
    );
  });

  test('data_dir that this user cannot create or write', {
    skip: process.getuid?.() === 0 ? 'root may write anywhere' : false,
  }, async () => {
    const cfg = file(
      'ro.yaml',
      'data_dir: /proc/flowgate-data\nmanagement: { listen: false }\nelements:\n  s: { script: static, listen: [udp:127.0.0.1:0] }\n',
    );
    const r = await run(['check', cfg]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^.*ro\.yaml:1:11: data_dir: \/proc\/flowgate-data does not exist and \S+ cannot create it \(\/proc is not writable\): create it once as root \(install -d -m 0700 -o \S+ \/proc\/flowgate-data\), or choose another data_dir$/m,
    );
  });

  test('TLS files: not PEM, DER, swapped, encrypted, a key of another certificate, a CA file of garbage: plain words and the fix', {
    skip: OPENSSL ? false : 'no openssl CLI to make certificates',
  }, () => {
    const p = pki as TestPki;
    file('server.pem', p.cert);
    file('server.key', p.key);
    file('other.key', p.clientKey);
    file('not-pem.pem', 'hello\n');
    execFileSync('openssl', [
      'x509',
      '-in',
      join(p.dir, 'server.pem'),
      '-outform',
      'der',
      '-out',
      join(DIR, 'server.der'),
    ]);
    execFileSync('openssl', [
      'pkey',
      '-in',
      join(p.dir, 'server.key'),
      '-aes256',
      '-passout',
      'pass:secret-pass',
      '-out',
      join(DIR, 'enc.key'),
    ]);
    file(
      'tls.yaml',
      [
        'management: { listen: false }',
        'elements:',
        '  a:',
        '    script: static',
        '    listen: [tls:127.0.0.1:0]',
        '    tls: { cert: not-pem.pem, key: enc.key }',
        '  b:',
        '    script: static',
        '    listen: [tls:127.0.0.1:0]',
        '    tls: { cert: server.der, key: server.pem, ca: not-pem.pem }',
        '  c:',
        '    script: static',
        '    listen: [tls:127.0.0.1:0]',
        '    tls: { cert: server.pem, key: other.key }',
        '  d:',
        '    script: static',
        '    listen: [tls:127.0.0.1:0]',
        '    tls: { cert: server.pem, key: server.key }',
        '',
      ].join('\n'),
    );
    return run(['check', 'tls.yaml'], { cwd: DIR }).then((r) => {
      assert.equal(r.code, 1);
      const f = (n: string): string => join(DIR, n);
      assert.equal(
        r.stderr,
        [
          `tls.yaml:6:18: elements.a.tls.cert: ${f('not-pem.pem')} is not a PEM certificate: it has no -----BEGIN CERTIFICATE----- line`,
          `tls.yaml:6:36: elements.a.tls.key: ${f('enc.key')} is encrypted with a passphrase, which flowgate cannot ask for: write a decrypted copy (openssl pkey -in ${f('enc.key')} -out server.key), readable only by the user flowgate runs as, and name that`,
          `tls.yaml:10:18: elements.b.tls.cert: ${f('server.der')} is a binary (DER) file, not PEM: convert it with openssl x509 -inform der -in ${f('server.der')} -out ${f('server.der')}.pem and name the .pem file`,
          `tls.yaml:10:35: elements.b.tls.key: ${f('server.pem')} holds a certificate, not a private key: are cert and key swapped?`,
          `tls.yaml:10:51: elements.b.tls.ca: ${f('not-pem.pem')} is not a PEM CA bundle: it has no -----BEGIN CERTIFICATE----- line`,
          `tls.yaml:14:35: elements.c.tls.key: the key in ${f('other.key')} does not belong to the certificate in ${f('server.pem')} (CN=localhost): name the key the certificate was issued for (the certificate must come first in its file)`,
          '6 problems in tls.yaml',
          '',
        ].join('\n'),
      );
      assert.doesNotMatch(r.stderr, /error:[0-9A-F]{8}|PEM routines|no start line/);
    });
  });

  test('the two-host examples check clean on loopback with their addresses from the environment', async () => {
    const env = {
      EDGE_PUBLIC_IP: '127.0.0.1',
      EDGE_PRIVATE_IP: '127.0.0.2',
      REGISTRAR_IP: '127.0.0.3',
      EDGE_SIP_PORT: String(await freePort('tcp')),
      EDGE_WS_PORT: String(await freePort('tcp')),
      EDGE_PRIVATE_PORT: String(await freePort('tcp', '127.0.0.2')),
      REGISTRAR_PORT: String(await freePort('tcp', '127.0.0.3')),
      EDGE_MANAGEMENT: '127.0.0.1:0',
      REGISTRAR_MANAGEMENT: '127.0.0.1:0',
    };
    for (const f of ['examples/edge.yaml', 'examples/registrar.yaml']) {
      const r = await run(['check', f, '--data-dir', join(DIR, 'examples-data')], {
        cwd: ROOT,
        env,
      });
      assert.equal(r.code, 0, `${f}: ${r.stderr}`);
    }
  });
});

describe('flowgate start: problems of the host stop it before anything listens', () => {
  test('a data_dir that cannot be created: exit 1, named as the --data-dir it came from', async () => {
    const cfg = file(
      'start-dd.yaml',
      'management: { listen: false }\nelements:\n  s: { script: static, listen: [udp:127.0.0.1:0] }\n',
    );
    file('start-dd-file', 'x');
    const r = await run(['start', '-c', cfg, '--data-dir', join(DIR, 'start-dd-file', 'data')]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `command line: --data-dir: ${join(DIR, 'start-dd-file', 'data')} cannot be created: ${join(DIR, 'start-dd-file')} is a file, not a directory; choose another data_dir\nflowgate: not started: 1 problem in ${cfg}\n`,
    );
  });

  test('--role: only that element must be able to listen (the other role runs in another process)', async () => {
    const held = await holdTcp();
    try {
      const cfg = file(
        'roles.yaml',
        `management: { listen: false }\nelements:\n  edge: { script: static, listen: [tcp:127.0.0.1:${held.port}] }\n  back: { listen: [tcp:${FOREIGN}:5060], script: static, allow_unauthenticated: true }\n`,
      );
      const r = await run(['start', '-c', cfg, '--role', 'back', '--data-dir', join(DIR, 'rd')]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `^.*roles\\.yaml:4:20: elements\\.back\\.listen\\[0\\]: cannot listen on tcp:${FOREIGN.replace(/\./g, '\\.')}:5060: .* \\(EADDRNOTAVAIL\\)`,
        ),
      );
      assert.doesNotMatch(r.stderr, /elements\.edge/);
    } finally {
      held.server.close();
    }
  });
});

describe('startInstance: a port taken after the check (a race) names element, listener and line', () => {
  test('a SIP listener', async () => {
    const held = await holdTcp();
    try {
      const config = parseConfig(
        `data_dir: ${join(DIR, 'race')}\nmanagement: { listen: false }\nelements:\n  reg:\n    script: static\n    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:${held.port}]\n`,
        join(DIR, 'race.yaml'),
      );
      await assert.rejects(
        startInstance(config, { logger: noopLogger, version: 'test' }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.equal(e.issues.length, 1);
          const i = e.issues[0];
          assert.equal(i?.path, 'elements.reg.listen[1]');
          assert.equal(i?.line, 6);
          assert.equal(i?.col, 31);
          assert.equal(
            i?.message,
            `cannot listen on tcp:127.0.0.1:${held.port}: TCP port ${held.port} is already in use on 127.0.0.1 (EADDRINUSE); stop the process that holds it (ss -lntup | grep :${held.port} shows which) or choose another port`,
          );
          assert.match(e.message, /race\.yaml:6:31: elements\.reg\.listen\[1\]: cannot listen/);
          return true;
        },
      );
    } finally {
      held.server.close();
    }
  });

  test('TLS files that went bad after the check: what is wrong with them, not OpenSSL text', async () => {
    file('later-bad.pem', 'not a certificate any more\n');
    file('later-bad.key', 'nor a key\n');
    const config = parseConfig(
      `data_dir: ${join(DIR, 'race3')}\nmanagement: { listen: false }\nelements:\n  t:\n    script: static\n    listen: [tls:127.0.0.1:0]\n    tls: { cert: later-bad.pem, key: later-bad.key }\n`,
      join(DIR, 'race3.yaml'),
    );
    await assert.rejects(
      startInstance(config, { logger: noopLogger, version: 'test' }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.deepEqual(
          e.issues.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`),
          [
            `7:18 elements.t.tls.cert: ${join(DIR, 'later-bad.pem')} is not a PEM certificate: it has no -----BEGIN CERTIFICATE----- line`,
            `7:38 elements.t.tls.key: ${join(DIR, 'later-bad.key')} is not a PEM private key: it has no -----BEGIN PRIVATE KEY----- line`,
          ],
        );
        assert.doesNotMatch(e.message, /error:[0-9A-F]{8}|routines/);
        return true;
      },
    );
  });

  test('a location store that cannot be opened names the element and its usrloc line', async () => {
    const data = join(DIR, 'race4');
    const config = parseConfig(
      `data_dir: ${data}\nmanagement: { listen: false }\nelements:\n  reg:\n    script: registrar\n    listen: [udp:127.0.0.1:0]\n    modules:\n      usrloc: { backend: sqlite, path: not-a-dir/location.db }\n`,
      join(DIR, 'race4.yaml'),
    );
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'not-a-dir'), 'x');
    await assert.rejects(
      startInstance(config, { logger: noopLogger, version: 'test' }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.issues[0]?.path, 'elements.reg.modules.usrloc');
        assert.equal(e.issues[0]?.line, 8);
        assert.match(
          e.issues[0]?.message ?? '',
          new RegExp(
            `^cannot open the location store \\(sqlite ${join(data, 'not-a-dir', 'location.db').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): `,
          ),
        );
        return true;
      },
    );
  });

  test('the management API', async () => {
    const held = await holdTcp();
    try {
      const config = parseConfig(
        `data_dir: ${join(DIR, 'race2')}\nmanagement:\n  listen: 127.0.0.1:${held.port}\n  token: race-test-token-0123456789\nelements:\n  s: { script: static, listen: [udp:127.0.0.1:0] }\n`,
        join(DIR, 'race2.yaml'),
      );
      await assert.rejects(
        startInstance(config, { logger: noopLogger, version: 'test' }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.equal(e.issues[0]?.path, 'management.listen');
          assert.equal(e.issues[0]?.line, 3);
          assert.match(
            e.issues[0]?.message ?? '',
            /^cannot listen on the management API 127\.0\.0\.1:\d+: TCP port \d+ is already in use/,
          );
          return true;
        },
      );
    } finally {
      held.server.close();
    }
  });
});
