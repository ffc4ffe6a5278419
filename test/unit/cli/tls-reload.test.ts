// reloadTls (issue 14 §2): what it refuses, in plain words, before the transport sees the files;
// elements without tls: files are left out.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningElement } from '../../../src/cli/instance.js';
import { reloadTls } from '../../../src/cli/tls-reload.js';
import type { TlsConfig } from '../../../src/transport/types.js';
import { hasOpenssl, makeTestPki, type TestPki } from '../../support/tls.js';

describe('reloadTls', { skip: hasOpenssl() ? false : 'openssl is not installed' }, () => {
  let pki: TestPki;
  let dir: string;
  before(() => {
    pki = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'flowgate-tls-unit-'));
  });
  after(() => {
    pki?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function element(
    name: string,
    files: { cert: string; key: string } | undefined,
    got: TlsConfig[],
  ): RunningElement {
    return {
      config: {
        name,
        tls: files === undefined ? undefined : { ...files, ca: undefined },
      },
      server: { transport: { reloadTls: (t: TlsConfig) => got.push(t) } },
    } as unknown as RunningElement;
  }

  function files(cert: string, key: string): { cert: string; key: string } {
    const c = join(dir, `c${Math.random()}.pem`);
    const k = join(dir, `k${Math.random()}.pem`);
    writeFileSync(c, cert);
    writeFileSync(k, key);
    return { cert: c, key: k };
  }

  test('good files: handed to the transport; the result names the certificate', () => {
    const got: TlsConfig[] = [];
    const [r, ...rest] = reloadTls([
      element('edge', files(pki.cert, pki.key), got),
      element('registrar', undefined, got),
    ]);
    assert.equal(rest.length, 0, 'the element without tls: is left out');
    assert.equal(r?.ok, true, r?.error);
    assert.match(r?.subject ?? '', /CN=localhost/);
    assert.match(r?.fingerprint256 ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(got.length, 1);
    assert.equal(String(got[0]?.cert), pki.cert);
  });

  test('refused in plain words, the transport untouched: missing, not PEM, swapped, foreign key, expired', () => {
    const got: TlsConfig[] = [];
    const missing = { cert: join(dir, 'nope.pem'), key: join(dir, 'nope.key') };
    const cases: [{ cert: string; key: string }, RegExp, number?][] = [
      [missing, /^cannot read .*nope\.pem: no such file$/],
      [files('hello', pki.key), /is not a PEM certificate \(or it is damaged\)$/],
      [files(pki.key, pki.cert), /is not a PEM certificate/],
      [
        files(pki.cert, pki.clientKey),
        /^the key in .* does not belong to the certificate in .*: install both files of one renewal$/,
      ],
      [files(pki.cert, pki.key), /^the certificate in .* expired on /, Date.now() + 3 * 86_400_000],
    ];
    for (const [f, re, now] of cases) {
      const [r] = reloadTls([element('edge', f, got)], now);
      assert.equal(r?.ok, false);
      assert.match(r?.error ?? '', re);
    }
    assert.equal(got.length, 0);
  });
});
