// SipTrace on its capture path: a message received and the same bytes sent carry the same
// correlation id octets, whether the Call-ID is plain ASCII or (against RFC 3261 §25.1) has other
// octets; with capture off nothing is sent.
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { scanMessage } from '../../../../src/message/scanner.js';
import { HepChunk, MessageTap, SipTrace } from '../../../../src/modules/siptrace/index.js';
import type { MessageInEvent, MessageOutEvent } from '../../../../src/transport/message-events.js';
import type { ListenerInfo } from '../../../../src/transport/types.js';
import { startUdpCollector } from '../../../support/hep-collector.js';
import { WAIT_MS, waitFor } from '../../../support/net.js';

const IN = channel('flowgate:message:in');
const OUT = channel('flowgate:message:out');

const L: ListenerInfo = Object.freeze({
  id: 7,
  proto: 'udp',
  address: '127.0.0.1',
  port: 5060,
  family: 4,
  advertise: undefined,
});

function options(callIdHeader: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(
      'OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bK1\r\n' +
        'From: <sip:a@127.0.0.2>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\n',
      'latin1',
    ),
    callIdHeader,
    Buffer.from('\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n', 'latin1'),
  ]);
}

function publish(buf: Buffer): void {
  const msg = scanMessage(buf).msg;
  assert.ok(msg !== undefined);
  const remote = { address: '127.0.0.2', port: 5080 };
  IN.publish({
    msg,
    info: {
      proto: 'udp',
      local: { address: L.address, port: L.port },
      remote,
      flowId: 'w0/u7/127.0.0.2:5080',
      listener: L,
      secure: false,
    },
  } satisfies MessageInEvent);
  OUT.publish({
    buf,
    flowId: 'w0/u7/127.0.0.2:5080',
    proto: 'udp',
    listener: L,
    remote,
    local: { address: L.address, port: L.port },
  } satisfies MessageOutEvent);
}

describe('SipTrace', () => {
  test('received and sent alike: the correlation id is the Call-ID octets, ASCII or not', async () => {
    const col = await startUdpCollector();
    const tap = new MessageTap({ name: 'edge', transport: { listeners: [L] } });
    const st = new SipTrace(
      tap,
      { duplicate_uri: col.uri, hep_capture_id: 5, auth_key: undefined, trace_on: false },
      { sender: { udpThread: false } },
    );
    try {
      await st.start();
      assert.equal(st.enabled, false, 'trace_on false: off');
      publish(options(Buffer.from('Call-ID: off@h', 'latin1')));
      await st.setEnabled(true);
      const utf8 = Buffer.from('Call-ID: caf\u00e9-\u00fc@h', 'utf8');
      publish(options(Buffer.from('i: plain-1@h', 'latin1')));
      publish(options(utf8));
      await waitFor(() => col.packets.length === 4, WAIT_MS, 'four packets');
      const ids = col.packets.map(
        (p) => p.chunks.find((c) => c.type === HepChunk.CorrelationId)?.value.toString('hex') ?? '',
      );
      const hex = (s: string, enc: BufferEncoding): string => Buffer.from(s, enc).toString('hex');
      assert.deepEqual(ids, [
        hex('plain-1@h', 'latin1'),
        hex('plain-1@h', 'latin1'),
        hex('caf\u00e9-\u00fc@h', 'utf8'),
        hex('caf\u00e9-\u00fc@h', 'utf8'),
      ]);
      assert.ok(col.packets.every((p) => p.captureId === 5));
      assert.equal(st.status().sent, 4);
    } finally {
      await st.close();
      tap.close();
      await col.close();
    }
  });
});
