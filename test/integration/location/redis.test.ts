import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { LocationStoreError } from '../../../src/modules/location/errors.js';
import { RedisLocationStore } from '../../../src/modules/location/redis.js';
import { RealClock } from '../../../src/util/clock.js';
import { makeBinding, runLocationStoreSuite } from '../../support/location-store.case.js';
import { freePort, RedisServer, redisSkipReason } from '../../support/redis-server.js';

/** A reason string skips the whole file with that message (no redis-server on this machine). */
const skip = redisSkipReason();

/** A fresh key prefix, so tests sharing one redis-server never see each other's keys. */
function prefix(): string {
  return `t${randomBytes(6).toString('hex')}:`;
}

/** Retries `call` while it rejects with LocationStoreError, for at most 10 s. */
async function eventually<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      assert.ok(err instanceof LocationStoreError, String(err));
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

/** A fine-grained clock: the purge-timer test runs 400 ms intervals on real time. */
const clock = new RealClock(10);

describe('RedisLocationStore', { skip }, () => {
  let server: RedisServer | undefined;
  function srv(): RedisServer {
    if (server === undefined) throw new Error('redis-server not started');
    return server;
  }
  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    await server?.dispose();
  });

  runLocationStoreSuite('RedisLocationStore', async ({ sweepIntervalMs }) => ({
    store: new RedisLocationStore({ url: srv().url, prefix: prefix(), clock, sweepIntervalMs }),
    now: () => clock.wallNow(),
    advance: (ms) => sleep(ms),
    shortExpiryMs: 1500,
  }));

  test("two store instances on one server see each other's writes at once", async () => {
    const p = prefix();
    const a = new RedisLocationStore({ url: srv().url, prefix: p, clock });
    const b = new RedisLocationStore({ url: srv().url, prefix: p, clock });
    await a.open();
    await b.open();
    try {
      const t = clock.wallNow();
      await a.apply('alice', {
        upsert: [makeBinding(t, 'alice', 'from-a', { q: 500 })],
        remove: [],
      });
      assert.deepEqual(
        (await b.get('alice')).map((x) => x.ruid),
        ['from-a'],
      );
      await b.apply('alice', {
        upsert: [makeBinding(t, 'alice', 'from-b', { q: 900 })],
        remove: [],
      });
      assert.deepEqual(
        (await a.get('alice')).map((x) => x.ruid),
        ['from-b', 'from-a'],
      );
      await b.apply('alice', { upsert: [], remove: ['from-a'] });
      assert.equal(await a.getByRuid('from-a'), undefined);
      assert.equal(await a.count(), 1);
      assert.equal(await b.removeAor('alice'), 1);
      assert.deepEqual(await a.get('alice'), []);
      // A different prefix is a different location service.
      const other = new RedisLocationStore({ url: srv().url, prefix: prefix(), clock });
      await other.open();
      await other.apply('alice', { upsert: [makeBinding(t, 'alice', 'elsewhere')], remove: [] });
      assert.deepEqual(await a.get('alice'), []);
      await other.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('the binding key carries a TTL ending at the binding expiry; the AoR is a sorted set', async () => {
    const p = prefix();
    const store = new RedisLocationStore({ url: srv().url, prefix: p, clock });
    await store.open();
    const raw = createClient({ url: srv().url });
    raw.on('error', () => {});
    await raw.connect();
    try {
      const t = clock.wallNow();
      const b = makeBinding(t, 'bob', 'b1', { expires: t + 120_000 });
      await store.apply('bob', { upsert: [b], remove: [] });
      assert.equal(store.bindingKey('b1'), `${p}b:b1`);
      assert.equal(await raw.sendCommand(['PEXPIRETIME', `${p}b:b1`]), b.expires);
      const ttl = Number(await raw.sendCommand(['PTTL', `${p}b:b1`]));
      assert.ok(ttl > 110_000 && ttl <= 120_000, `PTTL ${ttl}`);
      assert.equal(await raw.sendCommand(['TYPE', `${p}aor:bob`]), 'zset');
      assert.equal(Number(await raw.sendCommand(['ZSCORE', `${p}aor:bob`, 'b1'])), b.expires);
      // A refresh moves the TTL.
      await store.apply('bob', { upsert: [{ ...b, expires: t + 240_000 }], remove: [] });
      assert.equal(await raw.sendCommand(['PEXPIRETIME', `${p}b:b1`]), t + 240_000);
      // Removal leaves no key behind.
      await store.removeAor('bob');
      const keys = (await raw.sendCommand(['KEYS', `${p}*`])) as string[];
      assert.deepEqual(keys, []);
    } finally {
      raw.destroy();
      await store.close();
    }
  });

  test('open() rejects with LocationStoreError when nothing listens', async () => {
    const port = await freePort();
    const store = new RedisLocationStore({
      url: `redis://127.0.0.1:${port}`,
      clock,
      connectTimeoutMs: 500,
    });
    const t0 = Date.now();
    await assert.rejects(store.open(), LocationStoreError);
    assert.ok(Date.now() - t0 < 3000);
    await store.close();
  });

  test('redis down: calls reject quickly with LocationStoreError; after a restart the store works again', async () => {
    const s = srv();
    const p = prefix();
    const store = new RedisLocationStore({
      url: s.url,
      prefix: p,
      clock,
      sweepIntervalMs: 200,
      maxReconnectDelayMs: 200,
    });
    await store.open();
    try {
      const t = clock.wallNow();
      await store.apply('carl', { upsert: [makeBinding(t, 'carl', 'c1')], remove: [] });
      await s.stop();
      const calls: Array<[string, () => Promise<unknown>]> = [
        [
          'apply',
          () => store.apply('carl', { upsert: [makeBinding(t, 'carl', 'c2')], remove: [] }),
        ],
        ['get', () => store.get('carl')],
        ['getByRuid', () => store.getByRuid('c1')],
        ['count', () => store.count()],
        ['list', () => store.list(undefined, 10)],
        ['removeAor', () => store.removeAor('carl')],
        ['purgeExpired', () => store.purgeExpired()],
      ];
      for (const [what, call] of calls) {
        const t0 = Date.now();
        await assert.rejects(
          call(),
          (err: unknown) => err instanceof LocationStoreError && err.status === 500,
          what,
        );
        assert.ok(Date.now() - t0 < 3000, `${what} took ${Date.now() - t0} ms`);
      }
      await sleep(500); // purge timer runs and fails meanwhile: logged, no crash
      await s.restart();
      await eventually(() =>
        store.apply('carl', { upsert: [makeBinding(clock.wallNow(), 'carl', 'c3')], remove: [] }),
      );
      // The server kept no data (--save ''): only what was written after the restart.
      assert.deepEqual(
        (await store.get('carl')).map((b) => b.ruid),
        ['c3'],
      );
      assert.equal(await store.count(), 1);
    } finally {
      await store.close();
    }
  });

  test('a hung server: a call times out with LocationStoreError and the change is whole or absent', async () => {
    const s = srv();
    const p = prefix();
    const store = new RedisLocationStore({ url: s.url, prefix: p, clock, commandTimeoutMs: 300 });
    await store.open();
    try {
      const t = clock.wallNow();
      s.pause();
      const t0 = Date.now();
      const bs = ['d1', 'd2', 'd3'].map((r, i) => makeBinding(t, 'dora', r, { seq: i }));
      try {
        await assert.rejects(store.apply('dora', { upsert: bs, remove: [] }), LocationStoreError);
        assert.ok(Date.now() - t0 < 3000);
      } finally {
        s.resume();
      }
      // The store reconnects (the hung connection was dropped). The script may still have run
      // once the server woke up: then completely, never in part.
      const got = (await eventually(() => store.get('dora'))).map((b) => b.ruid);
      assert.ok(got.length === 0 || got.length === 3, `partial apply: ${got.join(',')}`);
      await store.apply('dora', { upsert: bs, remove: [] });
      assert.deepEqual(
        (await store.get('dora')).map((b) => b.ruid),
        ['d1', 'd2', 'd3'],
      );
    } finally {
      await store.close();
    }
  });
});
