import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesOf } from '../../../src/message/parse/chars.js';
import {
  parseVia,
  parseViaList,
  readFirstVia,
  type Via,
  viaBranch,
  viaSentBy,
  viaWithReceived,
} from '../../../src/message/parse/via.js';

function via(s: string): Via {
  const r = parseVia(s);
  assert.ok(r.ok, `${s}: ${r.ok ? '' : r.error.message}`);
  return r.value;
}

function bad(s: string): void {
  const r = parseVia(s);
  assert.equal(r.ok, false, `${s} should not parse`);
  if (!r.ok) {
    assert.equal(r.error.code, 'SIP_ERR_PARSE_VIA');
    assert.equal(r.error.field, 'Via');
    assert.equal(r.error.status, 400);
  }
}

describe('parseVia', () => {
  test('sent-protocol, sent-by and parameters (RFC 3261 §20.42)', () => {
    const v = via(
      'SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;maddr=224.2.0.1;ttl=16',
    );
    assert.equal(v.protocol, 'SIP/2.0');
    assert.equal(v.transport, 'UDP');
    assert.equal(v.host, 'pc33.atlanta.com');
    assert.equal(v.port, 5066);
    assert.equal(v.branch, 'z9hG4bK776asdhds');
    assert.equal(viaBranch(v), 'z9hG4bK776asdhds');
    assert.equal(v.received, '192.0.2.1');
    assert.equal(v.maddr, '224.2.0.1');
    assert.equal(v.ttl, 16);
    assert.equal(v.rport, undefined);
    assert.equal(v.rfc3261Branch, true);
    assert.equal(v.sentBy, 'pc33.atlanta.com:5066');
    assert.equal(viaSentBy(v), 'pc33.atlanta.com:5066');
    assert.equal(
      v.raw,
      'SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;maddr=224.2.0.1;ttl=16',
    );
    assert.deepEqual(v.params.names, ['branch', 'received', 'maddr', 'ttl']);
  });

  test('LWS around SLASH is allowed (RFC 3261 §25.1)', () => {
    const v = via('SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw');
    assert.equal(v.protocol, 'SIP/2.0');
    assert.equal(v.transport, 'UDP');
    assert.equal(v.host, '192.0.2.2');
    assert.equal(v.branch, '390skdjuw');
    assert.equal(v.rfc3261Branch, false);
  });

  test('LWS around COLON, SEMI and EQUAL (RFC 4475 §3.1.1.1)', () => {
    const v = via(
      'SIP  / 2.0  / TCP     spindle.example.com   :  5061 ;\r\n  branch  =   z9hG4bK9ikj8  ',
    );
    assert.equal(v.transport, 'TCP');
    assert.equal(v.host, 'spindle.example.com');
    assert.equal(v.port, 5061);
    assert.equal(v.branch, 'z9hG4bK9ikj8');
  });

  test('rport without a value is null; with a value, a number (RFC 3581 §3)', () => {
    assert.equal(via('SIP/2.0/UDP h;branch=z9hG4bK1;rport').rport, null);
    assert.equal(via('SIP/2.0/UDP h;rport=5070;branch=z9hG4bK1').rport, 5070);
    bad('SIP/2.0/UDP h;rport=x');
    bad('SIP/2.0/UDP h;rport=70000');
  });

  test('transport is upper-cased; unknown transports are kept (RFC 4475 §3.1.1.10)', () => {
    assert.equal(via('sip/2.0/tcp h').transport, 'TCP');
    assert.equal(via('SIP/2.0/ws h').transport, 'WS');
    assert.equal(via('SIP/2.0/wss h').transport, 'WSS');
    assert.equal(via('SIP/2.0/sctp h').transport, 'SCTP');
    assert.equal(via('SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en').transport, 'UNKNOWN');
  });

  test('IPv6 sent-by and received with or without brackets (RFC 5118 §4.5)', () => {
    const v = via('SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKas3;received=[2001:db8::9:255]');
    assert.equal(v.host, '[2001:db8::9:1]');
    assert.equal(v.port, 5070);
    assert.equal(v.sentBy, '[2001:db8::9:1]:5070');
    assert.equal(
      via('SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255').received,
      '2001:db8::9:255',
    );
  });

  test('a Via without a branch is valid (RFC 4475 §3.2.1, RFC 2543)', () => {
    const v = via('SIP/2.0/UDP iftgw.example.com');
    assert.equal(v.branch, undefined);
    assert.equal(v.port, undefined);
    assert.equal(v.sentBy, 'iftgw.example.com');
  });

  test('malformed values', () => {
    for (const s of [
      '',
      'SIP/2.0 h',
      'SIP/2.0/UDP',
      'SIP/2.0/UDP ',
      'SIP/2.0/UDPh',
      'SIP/2.0/UDP h:',
      'SIP/2.0/UDP h:99999',
      'SIP/2.0/UDP h:5060x',
      'SIP/2.0/UDP h;;',
      'SIP/2.0/UDP 192.0.2.15;;,;,,',
      'SIP/2.0/UDP h;branch=',
      'SIP/2.0/UDP h;branch',
      'SIP/2.0/UDP h;received=host.example.com',
      'SIP/2.0/UDP h;maddr=bad_host',
      'SIP/2.0/UDP h;ttl=256',
      'SIP/2.0/UDP h junk',
      'SIP/2.0/UDP [::1',
      'SIP/2.0/UDP a..b',
      'SIP/2.0/UDP h, SIP/2.0/UDP g',
    ]) {
      bad(s);
    }
  });

  test('params are only built when read; param() reads one directly', () => {
    const v = via('SIP/2.0/TCP h;Branch=z9hG4bKx;Foo=bar');
    assert.equal(v.param('foo'), 'bar');
    assert.equal(v.param('BRANCH'), 'z9hG4bKx');
    assert.equal(v.branch, 'z9hG4bKx');
  });
});

describe('Via parameters given twice', () => {
  test('the first one counts, whichever way the Via was read', () => {
    const s =
      'SIP/2.0/UDP h;branch=z9hG4bKa;rport;received=192.0.2.1;branch=z9hG4bKb;rport=7;received=192.0.2.2';
    const strict = via(s);
    const out: Via[] = [];
    assert.equal(parseViaList(bytesOf(s), s, 0, s.length, out), undefined);
    const top = readFirstVia(bytesOf(s), s, 0, s.length);
    for (const v of [strict, out[0], top]) {
      assert.equal(v?.branch, 'z9hG4bKa');
      assert.equal(v?.param('branch'), 'z9hG4bKa');
      assert.equal(v?.rport, null);
      assert.equal(v?.received, '192.0.2.1');
    }
    // each occurrence is still checked
    bad('SIP/2.0/UDP h;branch=z9hG4bKa;branch=not/a/token');
    bad('SIP/2.0/UDP h;rport;rport=99999');
  });
});

describe('readFirstVia fast path', () => {
  test('reads the usual values exactly as the general reader does', () => {
    for (const s of [
      'SIP/2.0/UDP h:5060;branch=z9hG4bK1',
      'SIP/2.0/tcp 192.0.2.1;rport;branch=z9hG4bK2',
      'SIP/2.0/TLS a.example.com:5061;branch=z9hG4bK3;received=192.0.2.9',
      'SIP/2.0/UDP h, SIP/2.0/UDP g',
      'SIP/2.0/UDP  h;branch=x',
      'SIP/2.0/UDP h :5060;branch=x',
      'SIP/2.0/UDP h: 5060;branch=x',
      'SIP/2.0/WS abc.invalid;branch=z9hG4bK4',
      'SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK5',
      'SIP/2.0/UDP h;BRANCH=z9hG4bK6',
    ]) {
      const v = readFirstVia(bytesOf(s), s, 0, s.length);
      const r = parseViaList(bytesOf(s), s, 0, s.length, []);
      assert.ok(v, s);
      assert.equal(r, undefined, s);
      const full = [] as Via[];
      parseViaList(bytesOf(s), s, 0, s.length, full);
      const w = full[0];
      assert.deepEqual(
        [v.transport, v.host, v.port, v.branch, v.rport, v.raw],
        [w?.transport, w?.host, w?.port, w?.branch, w?.rport, w?.raw],
        s,
      );
    }
    for (const s of ['SIP/2.0/UDP h:', 'SIP/2.0/UDP h:65536', 'SIP/2.0/UDP :5060', 'SIP/2.0/UD'])
      assert.equal(readFirstVia(bytesOf(s), s, 0, s.length), undefined, s);
    // not checked here: a quoted branch reads as written (validateMessage refuses it)
    const q = 'SIP/2.0/UDP h;branch="q"';
    assert.equal(readFirstVia(bytesOf(q), q, 0, q.length)?.branch, '"q"');
  });
});

describe('parseViaList', () => {
  test('several values in one header field (RFC 3261 §7.3.1)', () => {
    const s =
      'SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239';
    const out: Via[] = [];
    assert.equal(parseViaList(bytesOf(s), s, 0, s.length, out), undefined);
    assert.deepEqual(
      out.map((v) => [v.transport, v.host, v.branch]),
      [
        ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['UDP', '192.168.255.111', 'z9hG4bK30239'],
      ],
    );
  });

  test('a trailing or doubled comma is an error', () => {
    for (const s of ['SIP/2.0/UDP h,', 'SIP/2.0/UDP h,,SIP/2.0/UDP g']) {
      assert.notEqual(parseViaList(bytesOf(s), s, 0, s.length, []), undefined, s);
    }
  });
});

describe('readFirstVia', () => {
  test('reads the top value of a list and finds its branch on the fast path', () => {
    const s =
      'SIP/2.0/UDP a.example.com;branch=z9hG4bK1;rport, SIP/2.0/UDP b.example.com;branch=z9hG4bK2';
    const v = readFirstVia(bytesOf(s), s, 0, s.length);
    assert.ok(v);
    assert.equal(v.host, 'a.example.com');
    assert.equal(v.branch, 'z9hG4bK1');
    assert.equal(v.rport, null);
    assert.equal(v.raw, 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1;rport');
    assert.deepEqual(v.params.names, ['branch', 'rport']);
  });

  test('branch not first, in any case', () => {
    const s = 'SIP/2.0/UDP h;rport;BRANCH=z9hG4bKq';
    assert.equal(readFirstVia(bytesOf(s), s, 0, s.length)?.branch, 'z9hG4bKq');
  });

  test('a broken sent-protocol or sent-by gives undefined', () => {
    for (const s of ['', 'SIP/2.0', 'SIP/2.0/UDP', 'junk'])
      assert.equal(readFirstVia(bytesOf(s), s, 0, s.length), undefined, s);
  });
});

describe('viaWithReceived', () => {
  test('adds received when the source address differs (RFC 3261 §18.2.1)', () => {
    const v = via('SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7');
    assert.equal(
      viaWithReceived(v, '192.0.2.4', 5060),
      'SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7;received=192.0.2.4',
    );
  });

  test('nothing changes when the sent-by is the source address and there is no rport', () => {
    assert.equal(
      viaWithReceived(via('SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1'), '192.0.2.4', 5060),
      undefined,
    );
  });

  test('fills a valueless rport and always adds received (RFC 3581 §4)', () => {
    const v = via('SIP/2.0/UDP 192.0.2.4:5060;rport;branch=z9hG4bK1');
    assert.equal(
      v.withReceived('192.0.2.4', 9988),
      'SIP/2.0/UDP 192.0.2.4:5060;rport=9988;branch=z9hG4bK1;received=192.0.2.4',
    );
  });

  test('replaces an existing received in place; IPv6 without brackets', () => {
    const v = via('SIP/2.0/UDP [2001:db8::1];received=192.0.2.1;rport;branch=z9hG4bK1');
    assert.equal(
      v.withReceived('2001:db8::2', 5062),
      'SIP/2.0/UDP [2001:db8::1];received=2001:db8::2;rport=5062;branch=z9hG4bK1',
    );
  });
});
