// checkTlsFiles on real certificates (openssl CLI): a good pair, and the validity period seen from
// before and after it (the clock is a parameter).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkTlsFiles } from '../../../src/config/check-tls.js';
import { hasOpenssl, makeTestPki, type TestPki } from '../../support/tls.js';

const skip = hasOpenssl() ? false : 'no openssl CLI to make certificates';

describe('checkTlsFiles', { skip }, () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });
  after(() => pki?.cleanup());

  const files = () => ({
    cert: join(pki.dir, 'server.pem'),
    key: join(pki.dir, 'server.key'),
    ca: join(pki.dir, 'ca.pem'),
  });

  test('a certificate, its key and a CA bundle: no problems', async () => {
    assert.deepEqual(await checkTlsFiles(files()), []);
  });

  test('expired: the date, the subject and the fix', async () => {
    const later = Date.now() + 3 * 86_400_000;
    const p = await checkTlsFiles(files(), later);
    assert.equal(p.length, 1);
    assert.equal(p[0]?.file, 'cert');
    assert.match(
      p[0]?.message ?? '',
      new RegExp(
        `^the certificate in ${files().cert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(CN=localhost\\) expired on \\d{4}-\\d{2}-\\d{2}: renew it, put the new one in place and restart flowgate$`,
      ),
    );
  });

  test('not valid yet: asks about the clock', async () => {
    const p = await checkTlsFiles(files(), Date.now() - 3 * 86_400_000);
    assert.equal(p.length, 1);
    assert.match(
      p[0]?.message ?? '',
      /is not valid before \d{4}-\d{2}-\d{2}: is this host's clock right\?$/,
    );
  });

  test('a missing file is named with what is wrong', async () => {
    const p = await checkTlsFiles({ ...files(), key: join(pki.dir, 'nope.key') });
    assert.deepEqual(p, [
      { file: 'key', message: `cannot read ${join(pki.dir, 'nope.key')}: no such file` },
    ]);
  });
});
