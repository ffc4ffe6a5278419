// How ctl shows a binding's Path in the bindings table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shortPath } from '../../../src/cli/ctl.js';

describe('shortPath', () => {
  test('the flow token is cut to six characters and marked; host, port and parameters stay', () => {
    assert.equal(
      shortPath(['<sip:Xk3hQ0aZ9bCdEfGhIjKlMnOpQrStUvWx@10.0.0.1:5060;lr;ob>']),
      '<sip:Xk3hQ0…@10.0.0.1:5060;lr;ob>',
    );
  });

  test('a short user part and no user part are kept as they are', () => {
    assert.equal(shortPath(['<sip:edge@10.0.0.1;lr>']), '<sip:edge@10.0.0.1;lr>');
    assert.equal(shortPath(['<sip:10.0.0.1;lr>']), '<sip:10.0.0.1;lr>');
  });

  test('several entries longer than the column are cut at its width with a marker; none is "-"', () => {
    const s = shortPath([
      '<sip:Xk3hQ0aZ9bCdEfGhIjKlMnOpQrStUvWx@edge-1.example.com:5060;lr;ob>',
      '<sip:proxy.internal.example.com:5060;lr>',
    ]);
    assert.equal(s.length, 48);
    assert.ok(s.startsWith('<sip:Xk3hQ0…@edge-1.example.com:5060;lr;ob>,<si'), s);
    assert.ok(s.endsWith('…'), s);
    assert.equal(shortPath([]), '-');
  });
});
