import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatListen,
  isLoopback,
  parseHostPort,
  parseListen,
} from '../../../src/config/listen.js';
import { closest, editDistance } from '../../../src/config/suggest.js';

describe('config: listen strings (Kamailio listen= syntax)', () => {
  test('proto:address:port, IPv6 in brackets, default ports, advertise', () => {
    assert.deepEqual(parseListen('udp:127.0.0.1:5060'), {
      ok: true,
      value: { proto: 'udp', address: '127.0.0.1', port: 5060, advertise: undefined },
    });
    assert.deepEqual(parseListen('TCP:[::1]:5070'), {
      ok: true,
      value: { proto: 'tcp', address: '::1', port: 5070, advertise: undefined },
    });
    assert.deepEqual(parseListen('udp:10.0.0.1'), {
      ok: true,
      value: { proto: 'udp', address: '10.0.0.1', port: 5060, advertise: undefined },
    });
    assert.deepEqual(parseListen('tls:10.0.0.1'), {
      ok: true,
      value: { proto: 'tls', address: '10.0.0.1', port: 5061, advertise: undefined },
    });
    assert.deepEqual(parseListen('udp:10.0.0.1:5060 advertise sip.example.com:5080'), {
      ok: true,
      value: {
        proto: 'udp',
        address: '10.0.0.1',
        port: 5060,
        advertise: { host: 'sip.example.com', port: 5080 },
      },
    });
    assert.deepEqual(parseListen('udp:0.0.0.0:0'), {
      ok: true,
      value: { proto: 'udp', address: '0.0.0.0', port: 0, advertise: undefined },
    });
  });

  test('mistakes say what would be right', () => {
    const msg = (s: string): string => {
      const r = parseListen(s);
      assert.equal(r.ok, false, s);
      return r.ok ? '' : r.message;
    };
    assert.match(msg('127.0.0.1:5060'), /unknown transport '127\.0\.0\.1'/);
    assert.match(msg('udp'), /no transport/);
    assert.match(msg('udp:[::1:5060'), /missing '\]'/);
    assert.match(msg('udp:::1'), /brackets: \[::\]:1|brackets/);
    assert.match(msg('wss:127.0.0.1'), /wss needs a port/);
    assert.match(msg('udp:example.com:5060'), /not an IP address .*use advertise/);
    assert.match(msg('udp:1.2.3.4:5060 advertise a:b:c'), /^advertise: /);
    assert.match(msg('udp:1.2.3.4:5060 publish x'), /expected proto:address:port/);
  });

  test('formatListen, isLoopback, parseHostPort', () => {
    assert.equal(formatListen({ proto: 'udp', address: '::1', port: 5060 }), 'udp:[::1]:5060');
    assert.ok(
      isLoopback('127.0.0.1') &&
        isLoopback('127.1.2.3') &&
        isLoopback('::1') &&
        isLoopback('localhost') &&
        isLoopback('::ffff:127.0.0.1'),
    );
    assert.ok(!isLoopback('0.0.0.0') && !isLoopback('10.0.0.1') && !isLoopback('::'));
    assert.deepEqual(parseHostPort('[::1]:8081'), { ok: true, value: { host: '::1', port: 8081 } });
    assert.equal(parseHostPort('8081').ok, false);
    assert.equal(parseHostPort('example.com:8081').ok, false);
  });

  test('did-you-mean: edit distance with transpositions, -/_ and case ignored', () => {
    assert.equal(editDistance('egde', 'edge'), 1);
    assert.equal(closest('egde', ['edge', 'registrar', 'static']), 'edge');
    assert.equal(
      closest('tcp-connection-lifetime', ['tcp_connection_lifetime']),
      'tcp_connection_lifetime',
    );
    assert.equal(closest('zzz', ['autodrop']), undefined);
  });
});
