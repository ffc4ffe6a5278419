import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ensurePrivateDir, readOrCreateSecretFile } from '../../../src/util/secret-file.js';

const DIR = mkdtempSync(join(tmpdir(), 'fg-secret-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

describe('secret files (issue 10 §6)', () => {
  test('created complete with mode 0600 in directories created 0700; no temporary file stays', () => {
    const file = join(DIR, 'a', 'b', 'token');
    assert.equal(
      readOrCreateSecretFile(file, () => 'one\n'),
      'one\n',
    );
    assert.equal(readFileSync(file, 'utf8'), 'one\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(DIR, 'a')).mode & 0o777, 0o700);
    assert.equal(statSync(join(DIR, 'a', 'b')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(DIR, 'a', 'b')), ['token']);
  });

  test('an existing file is read, never rewritten', () => {
    const file = join(DIR, 'existing');
    writeFileSync(file, 'kept\n', { mode: 0o600 });
    assert.equal(
      readOrCreateSecretFile(file, () => assert.fail('must not create')),
      'kept\n',
    );
  });

  test('two starts at once agree: the one that links second reads the first one’s secret', () => {
    const file = join(DIR, 'race');
    // the other process writes its file between our read (ENOENT) and our link
    const mine = readOrCreateSecretFile(file, () => {
      writeFileSync(file, 'theirs\n', { mode: 0o600 });
      return 'mine\n';
    });
    assert.equal(mine, 'theirs\n');
    assert.equal(readFileSync(file, 'utf8'), 'theirs\n');
    assert.deepEqual(
      readdirSync(DIR).filter((n) => n.includes('race')),
      ['race'],
    );
  });

  test('an existing directory keeps its mode', () => {
    const dir = join(DIR, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    ensurePrivateDir(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o755);
  });
});
