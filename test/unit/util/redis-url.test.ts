// The Redis URL forms of the location and credentials stores (issue 12 §3): one server, Sentinel,
// Cluster, and the WAIT option; and how `flowgate check` reports a bad one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, formatIssue } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/load.js';
import {
  clusterKeyPrefix,
  parseRedisUrl,
  type RedisUrl,
  redactRedisUrl,
} from '../../../src/util/redis-url.js';

function ok(url: string): RedisUrl {
  const r = parseRedisUrl(url);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.value;
}

function bad(url: string): string {
  const r = parseRedisUrl(url);
  assert.ok(!r.ok, `${url} was accepted`);
  return r.message;
}

describe('parseRedisUrl', () => {
  test('redis:// and rediss://: one server, handed to node-redis without the query', () => {
    assert.deepEqual(ok('redis://127.0.0.1:6379'), {
      target: { kind: 'server', url: 'redis://127.0.0.1:6379' },
      wait: undefined,
    });
    assert.deepEqual(ok('rediss://u:p%40ss@cache.example:6380/2?wait=1'), {
      target: { kind: 'server', url: 'rediss://u:p%40ss@cache.example:6380/2' },
      wait: { replicas: 1, timeoutMs: 100 },
    });
    assert.match(bad('redis://a:1,b:2'), /several hosts need redis\+sentinel/);
  });

  test('redis+sentinel://: sentinels (default port 26379), the master name, db, passwords', () => {
    assert.deepEqual(
      ok(
        'redis+sentinel://app:s%3Acret@10.0.0.1,10.0.0.2:26380,[::1]:5000/mymaster/3?wait=2&wait_timeout=250&sentinel_password=sp',
      ),
      {
        target: {
          kind: 'sentinel',
          name: 'mymaster',
          sentinels: [
            { host: '10.0.0.1', port: 26379 },
            { host: '10.0.0.2', port: 26380 },
            { host: '::1', port: 5000 },
          ],
          username: 'app',
          password: 's:cret',
          database: 3,
          sentinelUsername: undefined,
          sentinelPassword: 'sp',
        },
        wait: { replicas: 2, timeoutMs: 250 },
      },
    );
    const plain = ok('redis+sentinel://:pw@h:1/m').target;
    assert.ok(plain.kind === 'sentinel');
    assert.equal(plain.username, undefined);
    assert.equal(plain.password, 'pw');
    assert.match(bad('redis+sentinel://h:26379'), /names the master/);
    assert.match(bad('redis+sentinel://h:26379/m/x'), /database must be a number/);
    assert.match(bad('redis+sentinel://h:26379/m/1/2'), /names the master/);
    assert.match(bad('redis+sentinel://h:99999/m'), /port 99999 is out of range/);
    assert.match(bad('redis+sentinel://h:x/m'), /"h:x" is not host:port/);
  });

  test('redis+cluster://: seed nodes (default port 6379), no database', () => {
    assert.deepEqual(ok('redis+cluster://a:7000,b:7001,c'), {
      target: {
        kind: 'cluster',
        nodes: [
          { host: 'a', port: 7000 },
          { host: 'b', port: 7001 },
          { host: 'c', port: 6379 },
        ],
        username: undefined,
        password: undefined,
      },
      wait: undefined,
    });
    assert.match(bad('redis+cluster://a:7000/1'), /no path/);
    assert.match(bad('redis+cluster://a:7000?sentinel_password=x'), /unknown URL option/);
  });

  test('wait and wait_timeout are checked; unknown options and TLS with sentinel/cluster refused', () => {
    assert.match(bad('redis://h?wait=0'), /wait must be a number of replicas 1\.\.100/);
    assert.match(bad('redis://h?wait=x'), /wait must be/);
    assert.match(bad('redis://h?wait=1&wait_timeout=0'), /wait_timeout must be 1\.\.60000 ms/);
    assert.match(bad('redis://h?wait_timeout=10'), /wait_timeout needs wait/);
    assert.match(bad('redis://h?timeout=10'), /unknown URL option "timeout"/);
    assert.match(bad('rediss+sentinel://h/m'), /TLS is not supported with sentinel/);
    assert.match(bad('http://h'), /expected redis:\/\//);
    assert.match(bad('redis://'), /no host/);
  });

  test('passwords are redacted in messages; a cluster prefix becomes a hash tag', () => {
    assert.equal(
      redactRedisUrl('redis+sentinel://u:secret@h:1/m?wait=1&sentinel_password=s2'),
      'redis+sentinel://u:***@h:1/m?wait=1&sentinel_password=***',
    );
    assert.equal(clusterKeyPrefix('flowgate:loc:'), '{flowgate:loc:}');
    assert.equal(clusterKeyPrefix('{site}:loc:'), '{site}:loc:');
    assert.equal(clusterKeyPrefix('a{}b'), '{a{}b}');
  });
});

describe('usrloc / auth_db url in the configuration', () => {
  function errors(url: string): string[] {
    try {
      parseConfig(
        `elements:\n  registrar:\n    modules:\n      usrloc: { backend: redis, url: "${url}" }\n      auth: {}\n      auth_db: { backend: redis, url: "${url}" }\n`,
        'flowgate.yaml',
      );
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.issues.map(formatIssue);
    }
  }

  test('sentinel and cluster URLs are accepted', () => {
    assert.deepEqual(errors('redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster?wait=1'), []);
    assert.deepEqual(errors('redis+cluster://10.0.0.1:7000,10.0.0.2:7000'), []);
  });

  test('a bad URL is reported at the url key, for both modules', () => {
    assert.deepEqual(errors('redis+sentinel://10.0.0.1:26379'), [
      'flowgate.yaml:4:38: elements.registrar.modules.usrloc.url: a sentinel URL names the master: redis+sentinel://host:26379,…/<master-name>[/<db>]',
      'flowgate.yaml:6:39: elements.registrar.modules.auth_db.url: a sentinel URL names the master: redis+sentinel://host:26379,…/<master-name>[/<db>]',
    ]);
    assert.match(
      errors('mongodb://h')[0] ?? '',
      /expected a redis:\/\/, rediss:\/\/, redis\+sentinel/,
    );
  });
});
