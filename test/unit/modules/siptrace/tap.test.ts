// The message tap under capture and the live trace: subscribed only while someone listens, only
// its own element's messages, addresses as they were on the wire; the live trace's filters.
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { scanMessage } from '../../../../src/message/scanner.js';
import {
  type CapturedMessage,
  MessageTap,
  TraceSession,
  traceEventJson,
} from '../../../../src/modules/siptrace/index.js';
import type { MessageInEvent, MessageOutEvent } from '../../../../src/transport/message-events.js';
import type { FlowInfo, ListenerInfo, ReceiveInfo } from '../../../../src/transport/types.js';

const IN = channel('flowgate:message:in');
const OUT = channel('flowgate:message:out');
const OPEN = channel('flowgate:flow:open');
const CLOSE = channel('flowgate:flow:close');

function listener(id: number, address: string, port: number): ListenerInfo {
  return Object.freeze({ id, proto: 'udp', address, port, family: 4, advertise: undefined });
}

function sip(text: string): Buffer {
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');
}

const REGISTER = sip(`REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.5:5080;branch=z9hG4bK1
From: <sip:alice@example.com>;tag=1
To: <sip:alice@example.com>
Call-ID: reg-1
CSeq: 1 REGISTER
Content-Length: 0

`);

function inEvent(
  buf: Buffer,
  l: ListenerInfo,
  flowId = 'w0/u1/192.0.2.5:5080',
  proto: 'udp' | 'tcp' = 'udp',
): MessageInEvent {
  const msg = scanMessage(buf).msg;
  assert.ok(msg !== undefined);
  const info: ReceiveInfo = {
    proto,
    local: { address: l.address, port: l.port },
    remote: { address: '192.0.2.5', port: 5080 },
    flowId,
    listener: l,
    secure: false,
  };
  return { msg, info };
}

describe('MessageTap', () => {
  test('subscribes to the channels only while it has sinks (capture off: nothing on the hot path)', () => {
    const a = listener(1, '198.51.100.1', 5060);
    const tap = new MessageTap({ name: 'edge', transport: { listeners: [a] } });
    assert.equal(IN.hasSubscribers, false);
    const got: CapturedMessage[] = [];
    const remove = tap.add((m) => got.push(m));
    const sink2 = (): void => {};
    tap.add(sink2);
    assert.equal(IN.hasSubscribers, true);
    assert.equal(OUT.hasSubscribers, true);
    remove();
    assert.equal(IN.hasSubscribers, true, 'one sink left');
    tap.remove(sink2);
    assert.equal(IN.hasSubscribers, false);
    assert.equal(OUT.hasSubscribers, false);
    IN.publish(inEvent(REGISTER, a));
    assert.equal(got.length, 0);
  });

  test("only its own element's messages (by listener); received and sent, addresses as on the wire", () => {
    const mine = listener(1, '198.51.100.1', 5060);
    const other = listener(1, '198.51.100.1', 5070);
    const tap = new MessageTap({ name: 'edge', transport: { listeners: [mine] } });
    const got: CapturedMessage[] = [];
    tap.add((m) => got.push(m));
    try {
      IN.publish(inEvent(REGISTER, other));
      IN.publish(inEvent(REGISTER, mine));
      const out: MessageOutEvent = {
        buf: REGISTER,
        flowId: 'w0/u1/203.0.113.9:5060',
        proto: 'udp',
        listener: mine,
        remote: { address: '203.0.113.9', port: 5060 },
        local: mine,
      };
      OUT.publish(out);
      OUT.publish({ ...out, listener: other });
    } finally {
      tap.close();
    }
    assert.deepEqual(
      got.map((m) => [m.element, m.direction, m.proto, m.src, m.dst, m.flowId]),
      [
        [
          'edge',
          'in',
          'udp',
          { address: '192.0.2.5', port: 5080 },
          { address: '198.51.100.1', port: 5060 },
          'w0/u1/192.0.2.5:5080',
        ],
        [
          'edge',
          'out',
          'udp',
          mine,
          { address: '203.0.113.9', port: 5060 },
          'w0/u1/203.0.113.9:5060',
        ],
      ],
    );
    assert.equal(got[0]?.bytes, got[0]?.msg?.buf);
    const now = Date.now() * 1000;
    assert.ok(Math.abs((got[0]?.timeUs ?? 0) - now) < 2_000_000);
  });

  test("a listener on any address: a connection's own local address is the destination", () => {
    const any: ListenerInfo = { ...listener(2, '0.0.0.0', 5060), proto: 'tcp' };
    const flow = { local: { address: '10.1.2.3', port: 5060 } } as FlowInfo;
    const tap = new MessageTap({
      name: 'edge',
      transport: { listeners: [any], getFlow: (id) => (id === 'w0/c7' ? flow : undefined) },
    });
    const got: CapturedMessage[] = [];
    tap.add((m) => got.push(m));
    try {
      IN.publish(inEvent(REGISTER, any, 'w0/c7'));
      IN.publish(inEvent(REGISTER, any, 'w0/u9/gone'));
    } finally {
      tap.close();
    }
    assert.deepEqual(
      got.map((m) => m.dst),
      [
        { address: '10.1.2.3', port: 5060 },
        { address: '0.0.0.0', port: 5060 },
      ],
    );
  });

  test('an outgoing connection: sent while connecting, captured once open with its real source port', () => {
    const l: ListenerInfo = { ...listener(3, '127.0.0.1', 5060), proto: 'tcp' };
    const tap = new MessageTap({
      name: 'edge',
      transport: { listeners: [l], getFlow: () => undefined },
    });
    const got: CapturedMessage[] = [];
    tap.add((m) => got.push(m));
    const out = (flowId: string, port: number): MessageOutEvent => ({
      buf: REGISTER,
      flowId,
      proto: 'tcp',
      listener: l,
      remote: { address: '127.0.0.1', port: 5070 },
      local: { address: '127.0.0.1', port },
    });
    const flow = (id: string, port: number): FlowInfo =>
      ({
        id,
        proto: 'tcp',
        listener: l,
        local: { address: '127.0.0.1', port },
        remote: { address: '127.0.0.1', port: 5070 },
      }) as FlowInfo;
    try {
      OUT.publish(out('w0/c9', 0));
      OUT.publish(out('w0/c9', 0));
      assert.equal(got.length, 0, 'held until the connection is open');
      OPEN.publish(flow('w0/c9', 40123));
      OUT.publish(out('w0/c9', 40123));
      // the reply on it was sent to the connection's port, not the listener's
      IN.publish(inEvent(REGISTER, l, 'w0/c9', 'tcp'));
      assert.deepEqual(
        got.map((m) => [m.direction, m.src.port, m.dst.port]),
        [
          ['out', 40123, 5070],
          ['out', 40123, 5070],
          ['out', 40123, 5070],
          ['in', 5080, 40123],
        ],
      );
      assert.ok((got[0]?.timeUs ?? 0) <= (got[1]?.timeUs ?? 0), 'each keeps its own time');
      CLOSE.publish({ flow: flow('w0/c9', 40123), reason: 'remote' });
      got.length = 0;
      IN.publish(inEvent(REGISTER, l, 'w0/c9', 'tcp'));
      assert.equal(got[0]?.dst.port, 5060, 'closed and unknown: the listener');
      // connections that never open publish no close: swept (sent as they were) once many wait
      got.length = 0;
      for (let i = 0; i < 33; i++) OUT.publish(out(`w0/d${i}`, 0));
      assert.equal(got.length, 32);
      assert.ok(got.every((m) => m.src.port === 0));
    } finally {
      tap.close();
    }
  });

  test('a sink added twice (capture switched on while on) gets each message once', () => {
    const a = listener(1, '198.51.100.1', 5060);
    const tap = new MessageTap({ name: 'edge', transport: { listeners: [a] } });
    let n = 0;
    const sink = (): void => {
      n++;
    };
    tap.add(sink);
    tap.add(sink);
    try {
      IN.publish(inEvent(REGISTER, a));
      assert.equal(n, 1);
      assert.equal(tap.sinkCount, 1);
    } finally {
      tap.remove(sink);
    }
    assert.equal(IN.hasSubscribers, false, 'one remove undoes it');
    IN.publish(inEvent(REGISTER, a));
    assert.equal(n, 1);
  });

  test('a sink that throws does not reach the transport', () => {
    const a = listener(1, '198.51.100.1', 5060);
    const tap = new MessageTap({ name: 'edge', transport: { listeners: [a] } });
    let after = 0;
    tap.add(() => {
      throw new Error('boom');
    });
    tap.add(() => {
      after++;
    });
    try {
      assert.doesNotThrow(() => IN.publish(inEvent(REGISTER, a)));
    } finally {
      tap.close();
    }
    assert.equal(after, 1);
  });
});

function captured(text: string, direction: 'in' | 'out' = 'out'): CapturedMessage {
  const bytes = sip(text);
  return {
    element: 'edge',
    direction,
    proto: 'udp',
    src: { address: '192.0.2.1', port: 5060 },
    dst: { address: '2001:db8::1', port: 5060 },
    timeUs: 1_700_000_000_000_001,
    bytes,
    flowId: 'w0/u1/x',
    msg: direction === 'in' ? scanMessage(bytes).msg : undefined,
  };
}

const msg = (method: string, from: string, to: string, callId: string, ruri = to): string =>
  `${method} ${ruri} SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK${callId}\nFrom: <${from}>;tag=1\nTo: <${to}>\nCall-ID: ${callId}\nCSeq: 1 ${method}\nContent-Length: 0\n\n`;

describe('live trace filters (TraceSession)', () => {
  test('--aor alice: From, To or request URI, any domain; alice@example.com: that domain only', () => {
    const any = new TraceSession({ aor: 'alice' });
    const dom = new TraceSession({ aor: 'sip:alice@Example.com' });
    const cases: [string, boolean, boolean][] = [
      [msg('REGISTER', 'sip:alice@example.com', 'sip:alice@example.com', 'a'), true, true],
      [msg('INVITE', 'sip:bob@example.com', 'sip:alice@other.net', 'b'), true, false],
      [msg('INVITE', 'sip:bob@x', 'sip:carol@x', 'c', 'sip:alice@example.com'), true, true],
      [msg('OPTIONS', 'sip:alicette@x', 'sip:malice@x', 'd'), false, false],
    ];
    for (const [text, a, d] of cases) {
      for (const dir of ['in', 'out'] as const) {
        assert.equal(new TraceSession({ aor: 'alice' }).accepts(captured(text, dir)), a, text);
        assert.equal(
          new TraceSession({ aor: 'alice@example.com' }).accepts(captured(text, dir)),
          d,
          text,
        );
      }
      any.accepts(captured(text));
      dom.accepts(captured(text));
    }
  });

  test('--aor follows the calls that matched: a later message of the call with other headers shows', () => {
    const s = new TraceSession({ aor: 'alice' });
    const later = msg('NOTIFY', 'sip:server@x', 'sip:watcher@x', 'call-9');
    assert.equal(s.accepts(captured(later)), false);
    assert.equal(s.accepts(captured(msg('INVITE', 'sip:alice@x', 'sip:bob@x', 'call-9'))), true);
    assert.equal(s.accepts(captured(later)), true);
  });

  test('--call-id: that call only (with --aor: both must hold); no filter: everything', () => {
    const s = new TraceSession({ callId: 'c1' });
    assert.equal(s.accepts(captured(msg('BYE', 'sip:a@x', 'sip:b@x', 'c1'))), true);
    assert.equal(s.accepts(captured(msg('BYE', 'sip:a@x', 'sip:b@x', 'c2'))), false);
    const both = new TraceSession({ callId: 'c1', aor: 'bob' });
    assert.equal(both.accepts(captured(msg('BYE', 'sip:a@x', 'sip:b@x', 'c1'))), false);
    assert.equal(both.accepts(captured(msg('BYE', 'sip:a@x', 'sip:bob@x', 'c1'))), true);
    assert.equal(new TraceSession({}).accepts(captured('garbage')), true);
  });

  test('the JSON of a traced message', () => {
    const j = traceEventJson(captured(msg('BYE', 'sip:a@x', 'sip:b@x', 'c1')));
    assert.deepEqual(
      { ...j, message: undefined },
      {
        type: 'message',
        time: '2023-11-14T22:13:20.000001Z',
        ts_us: 1_700_000_000_000_001,
        element: 'edge',
        direction: 'out',
        transport: 'udp',
        src: '192.0.2.1:5060',
        dst: '[2001:db8::1]:5060',
        call_id: 'c1',
        first_line: 'BYE sip:b@x SIP/2.0',
        bytes: j.message.length,
        message: undefined,
      },
    );
    assert.match(j.message, /^BYE sip:b@x SIP\/2\.0\r\nVia: /);
  });
});
