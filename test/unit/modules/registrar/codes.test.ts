import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../../../src/errors/index.js';
import {
  LOCATION_STORE_ERROR_CODE,
  LOCATION_STORE_ERROR_REASON,
  MemoryLocationStore,
} from '../../../../src/modules/location/index.js';
import {
  DEFAULT_REGISTRAR_PARAMS,
  isRegistrarErrorCode,
  REG_ERRORS,
  type RegistrarErrorCode,
  registrarErrorReply,
  registrarModule,
  registrarParamsSchema,
  resolveRegistrarParams,
} from '../../../../src/modules/registrar/index.js';
import { KeyedMutex } from '../../../../src/modules/registrar/lock.js';
import { RuidSource } from '../../../../src/modules/registrar/ruid.js';
import { ManualClock } from '../../../../src/util/clock.js';

const DOC = resolve(import.meta.dirname, '..', '..', '..', '..', 'docs', 'registrar.md');

/** The rows of the error table in docs/registrar.md: code → [status, reason, P-Registrar-Error]. */
function docRows(): Map<string, [number, string, string]> {
  const out = new Map<string, [number, string, string]>();
  for (const line of readFileSync(DOC, 'utf8').split('\n')) {
    const m = /^\|\s*`(REG_ERR_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|([^|]+)\|([^|]+)\|/.exec(line);
    if (m === null) continue;
    assert.ok(!out.has(m[1] ?? ''), `docs/registrar.md lists ${m[1]} twice`);
    out.set(m[1] ?? '', [Number(m[2]), (m[3] ?? '').trim(), (m[4] ?? '').trim()]);
  }
  return out;
}

describe('registrar error table', () => {
  test('docs/registrar.md lists exactly the codes of REG_ERRORS, with the same status, reason and P-Registrar-Error', () => {
    const rows = docRows();
    assert.deepEqual([...rows.keys()].sort(), Object.keys(REG_ERRORS).sort());
    for (const [code, e] of Object.entries(REG_ERRORS)) {
      assert.deepEqual(rows.get(code), [e.status, e.reason, e.pRegistrarError], code);
    }
  });

  test('the store outage code is the location store error code, with its reason', () => {
    assert.equal(LOCATION_STORE_ERROR_CODE, 'REG_ERR_STORE');
    assert.ok(isRegistrarErrorCode(LOCATION_STORE_ERROR_CODE));
    assert.equal(REG_ERRORS.REG_ERR_STORE.reason, LOCATION_STORE_ERROR_REASON);
    assert.equal(REG_ERRORS.REG_ERR_STORE.status, 500);
    assert.ok(!isRegistrarErrorCode('SIP_ERR_INTERNAL'));
  });

  test('outbound.md §2.6 statuses', () => {
    const expect: Partial<Record<RegistrarErrorCode, number>> = {
      REG_ERR_LOW_EXP: 423,
      REG_ERR_TOO_MANY: 503,
      REG_ERR_PATH_UNSUP: 420,
      REG_ERR_OB_UNSUP: 421,
      REG_ERR_OB_REQD_UNSUP: 420,
      REG_ERR_OB_UNSUP_EDGE: 439,
      REG_ERR_CSEQ: 400,
      REG_ERR_REGID: 400,
      REG_ERR_MULTI_REGID: 400,
      REG_ERR_STAR_EXP: 400,
      REG_ERR_CONTACT_PARSE: 400,
      REG_ERR_TOO_LONG: 400,
      REG_ERR_PATH_PARSE: 400,
      REG_ERR_AOR: 400,
      REG_ERR_STORE: 500,
    };
    for (const [code, status] of Object.entries(expect))
      assert.equal(REG_ERRORS[code as RegistrarErrorCode].status, status, code);
  });

  test('error replies carry the error-specific headers, then P-Registrar-Error, then Retry-After on 5xx', () => {
    assert.deepEqual(registrarErrorReply('REG_ERR_LOW_EXP', { minExpires: 60 }), {
      status: 423,
      reason: 'Interval Too Brief',
      headers: ['Min-Expires: 60', 'P-Registrar-Error: Interval too brief'],
    });
    assert.deepEqual(registrarErrorReply('REG_ERR_OB_UNSUP').headers, [
      'Require: outbound',
      'Supported: outbound',
      'P-Registrar-Error: No support for Outbound indicated',
    ]);
    assert.deepEqual(registrarErrorReply('REG_ERR_OB_REQD_UNSUP').headers, [
      'Unsupported: outbound',
      'P-Registrar-Error: No support for Outbound on server',
    ]);
    assert.deepEqual(
      registrarErrorReply('REG_ERR_PATH_UNSUP', { pathEcho: '<sip:e;lr>' }).headers,
      [
        'Unsupported: path',
        'Path: <sip:e;lr>',
        'P-Registrar-Error: No support for found Path indicated',
      ],
    );
    assert.deepEqual(registrarErrorReply('REG_ERR_TOO_MANY', { retryAfter: 30 }).headers, [
      'P-Registrar-Error: Too many registered contacts',
      'Retry-After: 30',
    ]);
    assert.deepEqual(registrarErrorReply('REG_ERR_CSEQ', { retryAfter: 30 }).headers, [
      'P-Registrar-Error: Invalid CSeq number',
    ]);
  });
});

describe('registrar parameters', () => {
  test('defaults: Kamailio registrar/usrloc defaults, case_sensitive 1 (decision Q-R6)', () => {
    const p = resolveRegistrarParams();
    assert.deepEqual(p, DEFAULT_REGISTRAR_PARAMS);
    assert.equal(p.use_path, 0);
    assert.equal(p.path_mode, 2);
    assert.equal(p.gruu_enabled, 1);
    assert.equal(p.outbound_mode, 0);
    assert.equal(p.default_expires, 3600);
    assert.equal(p.min_expires, 60);
    assert.equal(p.max_expires, 0);
    assert.equal(p.append_branches, 1);
    assert.equal(p.case_sensitive, 1);
    assert.equal(p.cseq_delay, 20);
  });

  test('booleans are accepted for flags (config files)', () => {
    const p = resolveRegistrarParams({ use_path: true, gruu_enabled: false, outbound_mode: 1 });
    assert.equal(p.use_path, 1);
    assert.equal(p.gruu_enabled, 0);
    assert.equal(p.outbound_mode, 1);
  });

  test('invalid parameters throw InvalidArgumentError naming the parameter, also from registrarModule()', () => {
    assert.throws(
      () => resolveRegistrarParams({ outbound_mode: 3 as 2 }),
      (e: unknown) => e instanceof InvalidArgumentError && /outbound_mode/.test(e.message),
    );
    assert.throws(() => resolveRegistrarParams({ min_expires: -1 }), InvalidArgumentError);
    assert.throws(() => resolveRegistrarParams({ max_expires: 30 }), /max_expires/);
    assert.throws(() => resolveRegistrarParams({ nope: 1 } as never), InvalidArgumentError);
    assert.throws(
      () => registrarModule({ path_mode: 7 as 2 }, new MemoryLocationStore()),
      InvalidArgumentError,
    );
    assert.equal(registrarParamsSchema.safeParse({ use_path: 1, path_mode: 1 }).success, true);
  });
});

describe('helpers', () => {
  test('ruids: unique, URI-safe, no dot (temp-GRUU delimiter)', () => {
    const s = new RuidSource(new ManualClock());
    const a = s.next();
    const b = s.next();
    assert.notEqual(a, b);
    assert.match(a, /^uloc-[0-9a-f]+-[0-9a-f]{6}-1$/);
    assert.match(b, /-2$/);
  });

  test('KeyedMutex runs tasks of one key one at a time, other keys in parallel', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const a = m.run('k', async () => {
      log.push('a start');
      await gate;
      log.push('a end');
    });
    const b = m.run('k', async () => {
      log.push('b');
    });
    const c = m.run('other', async () => {
      log.push('c');
    });
    await c;
    assert.deepEqual(log, ['a start', 'c']);
    release();
    await Promise.all([a, b]);
    assert.deepEqual(log, ['a start', 'c', 'a end', 'b']);
    await assert.rejects(
      m.run('k', async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    await m.run('k', async () => log.push('after failure'));
    await m.idle();
    assert.equal(m.size, 0);
  });
});
