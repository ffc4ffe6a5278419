// Issue 12 §3: the Redis location and credentials stores through Redis Sentinel (a master, one
// replica, three sentinels) and through a Redis Cluster (three masters), real Debian processes on
// loopback: the shared conformance suites run unchanged against both, writes through Sentinel with
// `?wait=1` (WAIT) and a write that the replicas do not confirm fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisCredentialStore } from '../../../src/modules/auth/store/index.js';
import { LocationStoreError } from '../../../src/modules/location/errors.js';
import { RedisLocationStore } from '../../../src/modules/location/redis.js';
import { RealClock } from '../../../src/util/clock.js';
import { runCredentialStoreSuite } from '../../support/credential-store.case.js';
import { makeBinding, runLocationStoreSuite } from '../../support/location-store.case.js';
import {
  clusterSkipReason,
  command,
  RedisClusterSet,
  RedisSentinelSet,
  sentinelSkipReason,
} from '../../support/redis-ha.js';

/** A fresh key prefix, so tests sharing one set-up never see each other's keys. */
function prefix(): string {
  return `t${randomBytes(6).toString('hex')}:`;
}

const clock = new RealClock(10);

/** Every key under `p` on the data nodes at `ports`, with its type and content, as text. */
async function dump(ports: readonly number[], p: string): Promise<string> {
  const out: string[] = [];
  for (const port of ports) {
    for (const k of (await command(port, ['KEYS', `${p}*`])) as string[]) {
      const type = String(await command(port, ['TYPE', k]));
      const v =
        type === 'hash'
          ? await command(port, ['HGETALL', k])
          : type === 'zset'
            ? await command(port, ['ZRANGE', k, '0', '-1'])
            : type === 'set'
              ? await command(port, ['SMEMBERS', k])
              : await command(port, ['GET', k]);
      out.push(`${k} ${type} ${JSON.stringify(v)}`);
    }
  }
  return out.join('\n');
}

describe('Redis Sentinel (master, 1 replica, 3 sentinels)', { skip: sentinelSkipReason() }, () => {
  let set: RedisSentinelSet | undefined;
  function s(): RedisSentinelSet {
    if (set === undefined) throw new Error('sentinel set not started');
    return set;
  }
  before(async () => {
    set = await RedisSentinelSet.start({ replicas: 1 });
  });
  after(async () => {
    await set?.stop();
  });

  // every write waits for the replica (WAIT 1): the suites pass unchanged with it
  runLocationStoreSuite('RedisLocationStore via Sentinel, wait=1', async ({ sweepIntervalMs }) => ({
    store: new RedisLocationStore({
      url: s().url('?wait=1&wait_timeout=1000'),
      prefix: prefix(),
      clock,
      sweepIntervalMs,
    }),
    now: () => clock.wallNow(),
    advance: (ms) => sleep(ms),
    shortExpiryMs: 1500,
  }));

  runCredentialStoreSuite('redis via Sentinel, wait=1', async ({ useDomain }) => {
    const p = prefix();
    const url = s().url('?wait=1&wait_timeout=1000');
    return {
      store: new RedisCredentialStore({ url, prefix: p, useDomain }),
      syncGet: false,
      reopen: (o) => new RedisCredentialStore({ url, prefix: p, useDomain: o.useDomain }),
      raw: () => dump([s().servers[0]?.port ?? 0], p),
    };
  });

  test('a write is on the replica when apply() resolves; more replicas than exist: 500, in bounded time', async () => {
    const p = prefix();
    const store = new RedisLocationStore({ url: s().url('?wait=1'), prefix: p, clock });
    const greedy = new RedisLocationStore({
      url: s().url('?wait=2&wait_timeout=200'),
      prefix: p,
      clock,
    });
    await store.open();
    await greedy.open();
    try {
      const t = clock.wallNow();
      await store.apply('alice', { upsert: [makeBinding(t, 'alice', 'a1')], remove: [] });
      const replica = s().servers[1];
      assert.ok(replica !== undefined);
      assert.equal(typeof (await command(replica.port, ['GET', store.bindingKey('a1')])), 'string');
      const t0 = Date.now();
      await assert.rejects(
        greedy.apply('alice', { upsert: [makeBinding(t, 'alice', 'a2')], remove: [] }),
        (err: unknown) =>
          err instanceof LocationStoreError &&
          err.status === 500 &&
          /only 1 of 2 replicas confirmed the write within 200 ms/.test(err.message),
      );
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
      // reads do not wait
      assert.equal((await greedy.get('alice')).length, 2);
    } finally {
      await store.close();
      await greedy.close();
    }
  });
});

describe('Redis Cluster (3 masters)', { skip: clusterSkipReason() }, () => {
  let set: RedisClusterSet | undefined;
  function c(): RedisClusterSet {
    if (set === undefined) throw new Error('cluster not started');
    return set;
  }
  before(async () => {
    set = await RedisClusterSet.start(3);
  });
  after(async () => {
    await set?.stop();
  });

  runLocationStoreSuite('RedisLocationStore via Cluster', async ({ sweepIntervalMs }) => ({
    store: new RedisLocationStore({ url: c().url(), prefix: prefix(), clock, sweepIntervalMs }),
    now: () => clock.wallNow(),
    advance: (ms) => sleep(ms),
    shortExpiryMs: 1500,
  }));

  runCredentialStoreSuite('redis via Cluster', async ({ useDomain }) => {
    const p = prefix();
    const url = c().url();
    return {
      store: new RedisCredentialStore({ url, prefix: p, useDomain }),
      syncGet: false,
      reopen: (o) => new RedisCredentialStore({ url, prefix: p, useDomain: o.useDomain }),
      raw: () => dump(c().ports, `{${p}}`),
    };
  });

  test('the keys of a store carry its prefix as hash tag (one slot); a tag in the prefix is kept', () => {
    const a = new RedisLocationStore({ url: c().url(), prefix: 'fg:loc:', clock });
    assert.equal(a.prefix, '{fg:loc:}');
    assert.equal(a.bindingKey('r1'), '{fg:loc:}b:r1');
    const b = new RedisLocationStore({ url: c().url(), prefix: '{site1}:loc:', clock });
    assert.equal(b.bindingKey('r1'), '{site1}:loc:b:r1');
    const cred = new RedisCredentialStore({ url: c().url() });
    assert.equal(cred.prefix, '{flowgate:auth:}');
  });

  test('stores with different prefixes hash to different slots, so they spread over the shards', async () => {
    const stores = ['a:', 'b:', 'c:', 'd:', 'e:', 'f:'].map(
      (p) => new RedisLocationStore({ url: c().url(), prefix: `${prefix()}${p}`, clock }),
    );
    try {
      const slots = new Set<number>();
      for (const st of stores) {
        await st.open();
        await st.apply('alice', {
          upsert: [makeBinding(clock.wallNow(), 'alice', `r-${st.prefix}`)],
          remove: [],
        });
        assert.equal((await st.get('alice')).length, 1);
        const port = c().ports[0] ?? 0;
        slots.add(Number(await command(port, ['CLUSTER', 'KEYSLOT', st.bindingKey('x')])));
      }
      assert.ok(slots.size > 1, 'all prefixes hashed to one slot');
    } finally {
      for (const st of stores) await st.close();
    }
  });
});
