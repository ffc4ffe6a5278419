import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detach } from '../../../src/util/detach.js';

test('detach keeps the value (latin1, non-latin1, short)', () => {
  for (const s of [
    '',
    'abc',
    'z9hG4bK776asdhds|192.0.2.1:5060|INVITE',
    'Flöwgate-test/1.0 ☎ 𝄞 and more',
    'é'.repeat(40),
  ]) {
    assert.equal(detach(s), s);
  }
  const big = `INVITE sip:x SIP/2.0\r\n${'X'.repeat(2000)}`;
  assert.equal(detach(big.slice(5, 60)), big.slice(5, 60));
});
