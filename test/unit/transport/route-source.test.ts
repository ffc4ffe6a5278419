// Which listener a message leaves from when an element has several of one transport (issue 14 §1):
// the address class of the destination, then the kernel's source address, then the file's order.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  isLoopbackIp,
  isPublicIp,
  kernelRouteProbe,
  pickListener,
  ROUTE_TTL_MS,
  RouteCache,
  routeMatters,
} from '../../../src/transport/route-source.js';
import { TransportLayer } from '../../../src/transport/transport-layer.js';
import type { ListenerInfo } from '../../../src/transport/types.js';

let nextId = 1;
function l(
  address: string,
  advertise?: string,
  proto: ListenerInfo['proto'] = 'udp',
): ListenerInfo {
  return {
    id: nextId++,
    proto,
    address,
    port: 5060,
    family: address.includes(':') ? 6 : 4,
    advertise: advertise === undefined ? undefined : { host: advertise, port: 5060 },
  };
}

describe('address classes', () => {
  test('private, loopback, link-local and shared ranges are not public; the rest is', () => {
    for (const a of [
      '10.0.0.2',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '127.0.0.1',
      '169.254.1.1',
      '0.0.0.0',
      '::1',
      '::',
      'fd00::2',
      'fe80::1',
      '::ffff:10.0.0.1',
    ])
      assert.equal(isPublicIp(a), false, a);
    for (const a of ['203.0.113.10', '198.51.100.7', '172.32.0.1', '100.128.0.1', '2001:db8::1'])
      assert.equal(isPublicIp(a), true, a);
    assert.equal(isLoopbackIp('127.0.72.3'), true);
    assert.equal(isLoopbackIp('::ffff:127.0.0.1'), true);
    assert.equal(isLoopbackIp('10.0.0.1'), false);
  });
});

describe('pickListener', () => {
  const pub = l('203.0.113.10', 'sip.example.com');
  const priv = l('10.0.0.1');

  test('the private registrar gets the private listener, a public peer the advertised one, in either order', () => {
    for (const order of [
      [pub, priv],
      [priv, pub],
    ]) {
      assert.equal(pickListener(order, '10.0.0.2', undefined), priv);
      assert.equal(pickListener(order, '198.51.100.7', undefined), pub);
    }
  });

  test('a public address bound without advertise faces the public side', () => {
    const bound = l('203.0.113.10');
    assert.equal(pickListener([bound, priv], '10.0.0.2', undefined), priv);
    assert.equal(pickListener([priv, bound], '198.51.100.7', undefined), bound);
  });

  test('on loopback (the tests): the listener without advertise towards a loopback destination', () => {
    const p = l('127.0.72.1', 'sip.example.com');
    const q = l('127.0.72.2');
    assert.equal(pickListener([p, q], '127.0.72.3', '127.0.0.1'), q);
    assert.equal(pickListener([q, p], '127.0.72.3', undefined), q);
  });

  test('two private networks: the kernel source address decides, not the order (mhomed)', () => {
    const a = l('10.0.0.1');
    const b = l('192.168.1.1');
    assert.equal(pickListener([a, b], '192.168.1.50', '192.168.1.1'), b);
    assert.equal(pickListener([b, a], '10.0.0.9', '10.0.0.1'), a);
    // unknown route: the first one
    assert.equal(pickListener([b, a], '10.0.0.9', undefined), b);
    assert.equal(routeMatters([a, b], '10.0.0.9'), true);
    assert.equal(routeMatters([pub, priv], '10.0.0.2'), false, 'the class decides alone');
    assert.equal(routeMatters([a, b], '127.0.0.9'), false, 'loopback needs no route');
    assert.equal(routeMatters([a], '10.0.0.9'), false);
  });

  test('a wildcard listener without advertise fits both sides, below one that fits exactly', () => {
    const any = l('0.0.0.0');
    assert.equal(pickListener([any, priv], '10.0.0.2', undefined), priv);
    assert.equal(pickListener([any, priv], '198.51.100.7', undefined), any);
  });

  test('one candidate, or none', () => {
    assert.equal(pickListener([pub], '10.0.0.2', undefined), pub);
    assert.equal(pickListener([], '10.0.0.2', undefined), undefined);
  });
});

describe('RouteCache', () => {
  test('asks once per destination, answers from the cache, refreshes a stale entry in the background', async () => {
    let now = 0;
    const asked: string[] = [];
    const cache = new RouteCache(
      async (d) => {
        asked.push(d);
        return '10.0.0.1';
      },
      () => now,
    );
    const p = cache.learn('10.0.0.2');
    assert.ok(p !== undefined);
    assert.equal(cache.learn('10.0.0.2'), p, 'one question in flight');
    await p;
    assert.equal(cache.source('10.0.0.2'), '10.0.0.1');
    assert.equal(cache.learn('10.0.0.2'), undefined);
    now = ROUTE_TTL_MS + 1;
    assert.equal(cache.learn('10.0.0.2'), undefined, 'stale: used while asked again');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(asked, ['10.0.0.2', '10.0.0.2']);
  });

  test('a failed question is remembered as no route', async () => {
    const cache = new RouteCache(async () => {
      throw new Error('no');
    });
    await cache.learn('10.0.0.2');
    assert.equal(cache.source('10.0.0.2'), undefined);
    assert.equal(cache.learn('10.0.0.2'), undefined);
  });

  test('the kernel probe: a connected UDP socket names the source address (no packet is sent)', async () => {
    assert.equal(await kernelRouteProbe('127.0.0.1'), '127.0.0.1');
    assert.equal(await kernelRouteProbe('::1').catch(() => undefined), '::1');
    assert.equal(await kernelRouteProbe('not-an-ip'), undefined);
  });
});

describe('TransportLayer.selectListener', () => {
  const layers: TransportLayer[] = [];
  after(async () => {
    await Promise.all(layers.map((x) => x.close()));
  });
  const user = { onMessage: () => {} };

  test('public listener first in the file: the registrar on loopback still gets the private one', async () => {
    const t = new TransportLayer(
      {
        listen: [
          {
            proto: 'udp',
            address: '127.0.73.1',
            port: 0,
            advertise: { host: 'sip.example.com', port: 5060 },
          },
          { proto: 'udp', address: '127.0.73.2', port: 0 },
        ],
      },
      user,
    );
    layers.push(t);
    await t.listen();
    assert.equal(
      t.selectListener('udp', 4)?.address,
      '127.0.73.1',
      'without a destination: the first',
    );
    assert.equal(t.selectListener('udp', 4, '127.0.73.3')?.address, '127.0.73.2');
    assert.equal(t.learnRoute('udp', '127.0.73.3'), undefined);
    assert.equal(t.selectListener('tcp', 4, '127.0.73.3'), undefined);
  });

  test('two listeners of one class: waits once for the kernel source address, then uses it', async () => {
    const asked: string[] = [];
    const t = new TransportLayer(
      {
        listen: [
          { proto: 'udp', address: '127.0.73.4', port: 0 },
          { proto: 'udp', address: '127.0.73.5', port: 0 },
        ],
      },
      user,
      {
        // a stand-in for the kernel: the destination is never contacted
        routeProbe: async (d) => {
          asked.push(d);
          return '127.0.73.5';
        },
      },
    );
    layers.push(t);
    await t.listen();
    assert.equal(t.selectListener('udp', 4, '10.0.0.9')?.address, '127.0.73.4', 'not learned yet');
    const wait = t.learnRoute('udp', '10.0.0.9');
    assert.ok(wait !== undefined);
    await wait;
    assert.equal(t.learnRoute('udp', '10.0.0.9'), undefined);
    assert.equal(t.selectListener('udp', 4, '10.0.0.9')?.address, '127.0.73.5');
    assert.deepEqual(asked, ['10.0.0.9']);
  });
});
