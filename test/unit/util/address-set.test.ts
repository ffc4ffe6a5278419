import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressSet, parseAddressSpec } from '../../../src/util/address-set.js';

test('AddressSet: IPv4 addresses, networks and ports; IPv4-mapped sources', () => {
  const s = AddressSet.of(['192.0.2.1', '10.0.0.0/8', '198.51.100.7:5070']);
  assert.ok(s.has('192.0.2.1', 1234));
  assert.ok(!s.has('192.0.2.2', 1234));
  assert.ok(s.has('10.255.3.4'));
  assert.ok(!s.has('11.0.0.1'));
  assert.ok(s.has('198.51.100.7', 5070));
  assert.ok(!s.has('198.51.100.7', 5060), 'the port must match');
  assert.ok(!s.has('198.51.100.7'), 'a port-restricted entry needs the port');
  assert.ok(s.has('::ffff:10.1.2.3'), 'IPv4-mapped IPv6 is the IPv4 address');
  assert.ok(!s.has('not-an-ip'));
});

test('AddressSet: IPv6 addresses and networks, compressed and expanded forms, IPv4 tails', () => {
  const s = AddressSet.of(['2001:db8::/32', '[::1]:5060', 'fe80::1', '::ffff:0:0/96']);
  assert.ok(s.has('2001:db8:1:2::3'));
  assert.ok(s.has('2001:0db8:0000:0000:0000:0000:0000:0001'));
  assert.ok(!s.has('2001:db9::1'));
  assert.ok(s.has('::1', 5060));
  assert.ok(s.has('0:0:0:0:0:0:0:1', 5060));
  assert.ok(!s.has('::1', 5061));
  assert.ok(s.has('fe80::1%eth0'));
  assert.ok(s.has('::ffff:0:192.0.2.1') || s.has('0:0:0:0:0:ffff:0:0'));
  assert.ok(!AddressSet.of([]).has('::1'));
});

test('parseAddressSpec: what is wrong, with an example', () => {
  for (const bad of ['example.com', '10.0.0.0/33', '[::1', '10.0.0.1:99999', '10.0.0.0/x'])
    assert.match((parseAddressSpec(bad) as { message: string }).message, /expected an IP address/);
});
