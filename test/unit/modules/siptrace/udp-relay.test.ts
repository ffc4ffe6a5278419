// The worker-thread UDP relay of HEP capture: every packet arrives once and intact, in order,
// across many turns of its ring; a full ring drops (and counts) instead of blocking; close() sends
// what is queued first.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, test } from 'node:test';
import { UdpRelay } from '../../../../src/modules/siptrace/udp-relay.js';
import { waitFor } from '../../../support/net.js';

async function sink(): Promise<{ port: number; got: Buffer[]; close(): void }> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  const got: Buffer[] = [];
  s.on('message', (b) => got.push(b));
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  return { port: s.address().port, got, close: () => s.close() };
}

function packet(i: number): Buffer[] {
  // sizes that are not multiples of 4, in two parts, so records wrap at every offset
  const body = Buffer.alloc(1 + ((i * 37) % 300), i & 0xff);
  const head = Buffer.alloc(6);
  head.writeUInt32BE(i, 0);
  head.writeUInt16BE(body.length, 4);
  return [head, body];
}

describe('UdpRelay (HEP over UDP from a worker thread)', () => {
  test('every packet once, intact and in order, through many turns of a small ring', async () => {
    const s = await sink();
    const relay = await UdpRelay.open('127.0.0.1', s.port, 4096);
    try {
      let i = 0;
      // a few packets at a time, more than the ring holds in all
      while (i < 600) {
        for (let k = 0; k < 5; k++, i++) assert.ok(relay.send(packet(i)), `packet ${i} queued`);
        await waitFor(() => relay.stats().sent === i, 5000, `sent ${i}`);
      }
      await waitFor(() => s.got.length === 600, 5000, 'all received');
      for (let n = 0; n < 600; n++) assert.deepEqual(s.got[n], Buffer.concat(packet(n)), `${n}`);
      assert.deepEqual(relay.stats(), { sent: 600, dropped: 0, errors: 0 });
    } finally {
      await relay.close();
      s.close();
    }
  });

  test('a full ring drops and counts; close() sends what is queued, then sends are dropped', async () => {
    const s = await sink();
    const relay = await UdpRelay.open('127.0.0.1', s.port, 1024);
    let queued = 0;
    let dropped = 0;
    // synchronously: the worker cannot empty the ring meanwhile
    for (let i = 0; i < 50; i++) {
      if (relay.send([Buffer.alloc(100, i)])) queued++;
      else dropped++;
    }
    assert.ok(queued >= 8 && queued <= 10, `${queued} queued`);
    assert.equal(relay.stats().dropped, dropped);
    await relay.close();
    await waitFor(() => s.got.length === queued, 5000, 'the queued packets arrive');
    assert.equal(relay.send([Buffer.alloc(10)]), false);
    s.close();
  });
});
