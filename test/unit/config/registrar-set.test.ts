// Issue 12 §2: edge.registrar as one URI or a list (a registrar set), its settings, and what they
// become in the element's options.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { elementOptions } from '../../../src/config/element.js';
import { ConfigError, formatIssue } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-regset-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

function parse(text: string): Config {
  return parseConfig(text, 'flowgate.yaml', { cwd: DIR });
}

function errors(text: string): string[] {
  try {
    parse(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map(formatIssue);
  }
  assert.fail('expected the configuration to be rejected');
}

describe('edge.registrar: one URI or a registrar set', () => {
  test('a list: every registrar in order, the first is the $du; settings reach the options', () => {
    const c = parse(
      [
        'elements:',
        '  edge:',
        '    edge:',
        '      registrar: [sip:10.0.0.2:5060, "sip:10.0.0.3:5070;transport=tcp", sip:regs.example.net]',
        '      registrar_select: hash',
        '      registrar_probe_interval: 5',
        '      registrar_probe_threshold: 3',
        '      registrar_timeout: 1000',
        '',
      ].join('\n'),
    );
    const e = c.elements['edge']?.edge;
    assert.equal(e?.registrar, 'sip:10.0.0.2:5060');
    assert.deepEqual(e?.registrars, [
      'sip:10.0.0.2:5060',
      'sip:10.0.0.3:5070;transport=tcp',
      'sip:regs.example.net',
    ]);
    const o = elementOptions(c, 'edge');
    assert.deepEqual(o.registrarSet, {
      du: 'sip:10.0.0.2:5060',
      uris: ['sip:10.0.0.2:5060', 'sip:10.0.0.3:5070;transport=tcp', 'sip:regs.example.net'],
      policy: 'hash',
      probeInterval: 5,
      probeThreshold: 3,
      timeoutMs: 1000,
    });
    // every numeric registrar is a source "from inside" (UDP with its port, TCP by address)
    assert.deepEqual(o.permissions.registrars, ['10.0.0.2:5060', '10.0.0.3']);
  });

  test('one URI: a set of one, with the defaults (probe every 10 s, down after 2, 2 s per registrar)', () => {
    const c = parse('elements:\n  edge: { edge: { registrar: "sip:10.0.0.2:5060" } }\n');
    assert.deepEqual(elementOptions(c, 'edge').registrarSet, {
      du: 'sip:10.0.0.2:5060',
      uris: ['sip:10.0.0.2:5060'],
      policy: 'priority',
      probeInterval: 10,
      probeThreshold: 2,
      timeoutMs: 2000,
    });
  });

  test('derived from the registrar element of the file, as before', () => {
    const c = parse(
      'elements:\n  edge: { listen: [udp:127.0.0.1:0] }\n  registrar: { listen: [udp:127.0.0.1:0] }\n',
    );
    assert.deepEqual(c.elements['edge']?.edge?.registrars, ['sip:127.0.0.1:0']);
    const o = elementOptions(c, 'edge', { registrarUri: 'sip:127.0.0.1:40000' });
    assert.equal(o.registrarSet?.du, 'sip:127.0.0.1:40000');
    assert.deepEqual(o.registrarSet?.uris, ['sip:127.0.0.1:40000']);
  });

  test('bad entries are named by their place in the list; an empty list, duplicates and bad settings are refused', () => {
    assert.deepEqual(
      errors('elements:\n  edge: { edge: { registrar: [sip:10.0.0.2, "http://x"] } }\n'),
      [
        'flowgate.yaml:2:45: elements.edge.edge.registrar[1]: expected a SIP URI like sip:127.0.0.1:5070 (not a SIP URI: http)',
      ],
    );
    const empty = errors('elements:\n  edge: { edge: { registrar: [] } }\n');
    assert.equal(empty.length, 1);
    assert.match(empty[0] ?? '', /edge\.registrar: expected at least one SIP URI/);
    const dup = errors(
      'elements:\n  edge: { edge: { registrar: [sip:10.0.0.2, sip:10.0.0.3, sip:10.0.0.2] } }\n',
    );
    assert.match(dup[0] ?? '', /edge\.registrar\[2\]: sip:10\.0\.0\.2 is in the list twice/);
    assert.match(
      errors(
        'elements:\n  edge: { edge: { registrar: sip:a.example.net, registrar_select: random } }\n',
      )[0] ?? '',
      /registrar_select: expected priority, round_robin or hash/,
    );
    assert.match(
      errors(
        'elements:\n  edge: { edge: { registrar: sip:a.example.net, registrar_probe_interval: -1 } }\n',
      )[0] ?? '',
      /registrar_probe_interval: expected an integer 0 or more \(seconds\)/,
    );
  });
});
