import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../../../src/errors/index.js';
import { SipError } from '../../../../src/errors/sip-error.js';
import type { Binding } from '../../../../src/modules/location/binding.js';
import { LocationStoreError } from '../../../../src/modules/location/errors.js';
import {
  createLocationStore,
  MemoryLocationStore,
  RedisLocationStore,
  SeqSource,
  SqliteLocationStore,
} from '../../../../src/modules/location/index.js';
import {
  compareBindings,
  compareCodePoints,
  decodeCursor,
  encodeCursor,
  toPage,
} from '../../../../src/modules/location/order.js';
import {
  assertValidChanges,
  checkBinding,
  normalizeBinding,
  readStoredBinding,
} from '../../../../src/modules/location/validate.js';
import { ManualClock } from '../../../../src/util/clock.js';
import { makeBinding } from '../../../support/location-store.case.js';

const T = 1_750_000_000_000;

describe('location order', () => {
  test('compareCodePoints agrees with UTF-8 byte order (SQLite BINARY, Redis lex)', () => {
    const samples = [
      '',
      'a',
      'b',
      'A',
      'ab',
      'a\u0000',
      '\u00e5',
      '\u07ff',
      '\u0800',
      '\ud7ff',
      '\ue000',
      '\uffff',
      '\u{10000}',
      '\u{1d49c}',
      '\u{10ffff}',
      'z\u{1f600}',
      'z\uff01',
    ];
    for (const a of samples) {
      for (const b of samples) {
        const want = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        assert.equal(
          Math.sign(compareCodePoints(a, b)),
          want,
          `${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
        );
      }
    }
  });

  test('compareBindings: q descending, no q below q=0, then seq, then ruid', () => {
    const b = (ruid: string, q: number | undefined, seq: number): Binding =>
      makeBinding(T, 'x', ruid, { q, seq });
    const list = [
      b('n2', undefined, 2),
      b('z', 0, 1),
      b('h', 1000, 5),
      b('m2', 500, 2),
      b('m1', 500, 1),
      b('n1', undefined, 1),
      b('m0', 500, 1),
    ];
    assert.deepEqual(
      list.sort(compareBindings).map((x) => x.ruid),
      ['h', 'm0', 'm1', 'm2', 'z', 'n1', 'n2'],
    );
  });

  test('cursors round-trip and junk cursors are refused', () => {
    const pos = { aor: 'al\u00efce\u0000x', seq: 123_456_789_012, ruid: 'uloc-1' };
    assert.deepEqual(decodeCursor(encodeCursor(pos)), pos);
    assert.equal(decodeCursor(undefined), undefined);
    for (const bad of [
      '',
      '!!!',
      Buffer.from('[1,2,3]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('["a",1.5,"r"]').toString('base64url'),
    ]) {
      assert.throws(() => decodeCursor(bad), InvalidArgumentError, bad);
    }
  });

  test('toPage: next only when more rows follow', () => {
    const rows = [1, 2, 3].map((i) => makeBinding(T, 'a', `r${i}`, { seq: i }));
    assert.deepEqual(toPage(rows.slice(0, 2), 2), { bindings: rows.slice(0, 2), next: undefined });
    const page = toPage(rows, 2);
    assert.deepEqual(
      page.bindings.map((b) => b.ruid),
      ['r1', 'r2'],
    );
    assert.deepEqual(decodeCursor(page.next), { aor: 'a', seq: 2, ruid: 'r2' });
  });
});

describe('location validation', () => {
  const ok = makeBinding(T, 'alice', 'uloc-1');

  test('a complete binding passes; each broken field is named', () => {
    assert.equal(checkBinding(ok, 'alice'), undefined);
    assert.equal(checkBinding({ ...ok, q: 0 }, 'alice'), undefined);
    assert.equal(
      checkBinding({ ...ok, q: 1000, methods: [], received: 'sip:1.2.3.4' }, 'alice'),
      undefined,
    );
    const cases: Array<[string, Record<string, unknown>]> = [
      ['ruid', { ruid: 'a b' }],
      ['ruid', { ruid: 'x'.repeat(256) }],
      ['ruid', { ruid: 'a\u0000b' }],
      ['aor', { aor: 'bob' }],
      ['contact', { contact: '' }],
      ['callId', { callId: 7 }],
      ['expires', { expires: 0 }],
      ['expires', { expires: 1.5 }],
      ['cseq', { cseq: -1 }],
      ['regId', { regId: '1' }],
      ['flags', { flags: Number.POSITIVE_INFINITY }],
      ['seq', { seq: Number.MAX_SAFE_INTEGER + 1 }],
      ['lastModified', { lastModified: undefined }],
      ['q', { q: -1 }],
      ['q', { q: 500.5 }],
      ['received', { received: null }],
      ['instance', { instance: 1 }],
      ['path', { path: [1] }],
      ['tempGruus', { tempGruus: undefined }],
      ['methods', { methods: 'INVITE' }],
    ];
    for (const [field, patch] of cases) {
      const problem = checkBinding({ ...ok, ...patch }, 'alice');
      assert.ok(problem?.includes(field), `${JSON.stringify(patch)} -> ${problem}`);
    }
    assert.equal(checkBinding(null, 'alice'), 'not an object');
  });

  test('assertValidChanges refuses bad AoRs, shapes, duplicates and ruids in both lists', () => {
    assert.doesNotThrow(() => assertValidChanges('alice', { upsert: [ok], remove: ['other'] }));
    assert.throws(() => assertValidChanges('', { upsert: [], remove: [] }), InvalidArgumentError);
    assert.throws(() => assertValidChanges('alice', { upsert: [ok, ok], remove: [] }), /twice/);
    assert.throws(() => assertValidChanges('alice', { upsert: [ok], remove: ['uloc-1'] }), /both/);
    assert.throws(
      () => assertValidChanges('alice', { upsert: [], remove: [''] }),
      InvalidArgumentError,
    );
    assert.throws(
      () => assertValidChanges('alice', { upsert: undefined, remove: [] } as never),
      InvalidArgumentError,
    );
  });

  test('normalizeBinding copies exactly the Binding fields, frozen; readStoredBinding checks', () => {
    const n = normalizeBinding({ ...ok, extra: 1 } as Binding);
    assert.deepEqual(n, ok);
    assert.ok(Object.isFrozen(n) && Object.isFrozen(n.path));
    assert.deepEqual(readStoredBinding(JSON.parse(JSON.stringify(ok))), ok);
    assert.equal(readStoredBinding({ ...ok, expires: 'soon' }), undefined);
    assert.equal(readStoredBinding('x'), undefined);
  });
});

describe('location misc', () => {
  test('SeqSource: strictly increasing, follows wall-clock time', () => {
    const clock = new ManualClock();
    const s = new SeqSource(clock);
    const a = s.next();
    const b = s.next();
    assert.ok(b > a && Number.isSafeInteger(b));
    assert.equal(a, clock.wallNow() * 1000);
    clock.advance(5);
    assert.equal(s.next(), clock.wallNow() * 1000);
  });

  test('LocationStoreError is a SipError with code REG_ERR_STORE and status 500', () => {
    const cause = new Error('ECONNREFUSED');
    const e = new LocationStoreError('down', { cause });
    assert.ok(e instanceof SipError);
    assert.equal(e.name, 'LocationStoreError');
    assert.equal(e.code, 'REG_ERR_STORE');
    assert.equal(e.status, 500);
    assert.equal(e.cause, cause);
  });

  test('createLocationStore builds each backend and refuses unknown ones', () => {
    assert.ok(createLocationStore({ backend: 'memory' }) instanceof MemoryLocationStore);
    assert.ok(
      createLocationStore({ backend: 'sqlite', path: ':memory:' }) instanceof SqliteLocationStore,
    );
    const r = createLocationStore({ backend: 'redis', url: 'redis://127.0.0.1:1', prefix: 'p:' });
    assert.ok(r instanceof RedisLocationStore);
    assert.equal(r.prefix, 'p:');
    assert.throws(() => createLocationStore({ backend: 'mongo' } as never), InvalidArgumentError);
    assert.throws(
      () => createLocationStore({ backend: 'redis', url: 'http://x' }),
      InvalidArgumentError,
    );
    assert.throws(() => createLocationStore({ backend: 'sqlite', path: '' }), InvalidArgumentError);
    assert.throws(() => new MemoryLocationStore({ sweepIntervalMs: 0 }), InvalidArgumentError);
  });
});
