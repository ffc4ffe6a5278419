// modules.siptrace (issue 13 §3): the HEP collector per element, defaults, and the problems a
// wrong section gets, at their place in the file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { elementOptions } from '../../../src/config/element.js';
import { ConfigError, formatIssue } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-siptrace-config-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

function parse(siptrace: string): Config {
  return parseConfig(
    `data_dir: ${DIR}\nelements:\n  edge:\n    listen: [udp:127.0.0.1:0]\n    modules:\n      siptrace: ${siptrace}\n  registrar:\n    listen: [udp:127.0.0.1:0]\n`,
    'flowgate.yaml',
    { cwd: DIR },
  );
}

function errors(siptrace: string): string[] {
  try {
    parse(siptrace);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map(formatIssue);
  }
  assert.fail('expected the configuration to be rejected');
}

describe('config: modules.siptrace', () => {
  test('loaded with its collector; defaults: capture id 1, no key, on from start', () => {
    const c = parse('{ duplicate_uri: udp:127.0.0.1:9060 }');
    assert.deepEqual(c.elements['edge']?.modules.siptrace, {
      duplicate_uri: 'udp:127.0.0.1:9060',
      hep_capture_id: 1,
      auth_key: undefined,
      trace_on: true,
    });
    assert.equal(c.elements['registrar']?.modules.siptrace, undefined);
    const o = elementOptions(c, 'edge', { registrarUri: 'sip:127.0.0.1:5070' });
    assert.deepEqual(o.siptrace, c.elements['edge']?.modules.siptrace);
  });

  test('Kamailio names and forms: sip:…;transport=tcp, trace_on 0, a key', () => {
    const c = parse(
      '{ duplicate_uri: "sip:10.0.0.9:9061;transport=tcp", hep_capture_id: 7, auth_key: k, trace_on: 0 }',
    );
    assert.deepEqual(c.elements['edge']?.modules.siptrace, {
      duplicate_uri: 'sip:10.0.0.9:9061;transport=tcp',
      hep_capture_id: 7,
      auth_key: 'k',
      trace_on: false,
    });
    assert.equal(parse('false').elements['edge']?.modules.siptrace, undefined);
  });

  test('no collector, a collector that is not one, a bad capture id: errors at their keys', () => {
    assert.deepEqual(errors('{}'), [
      'flowgate.yaml:6:17: elements.edge.modules.siptrace: siptrace needs duplicate_uri: the HEP collector, e.g. udp:127.0.0.1:9060',
    ]);
    const [bad] = errors('{ duplicate_uri: "127.0.0.1:9060" }');
    assert.match(
      bad ?? '',
      /^flowgate\.yaml:6:\d+: elements\.edge\.modules\.siptrace\.duplicate_uri: '127\.0\.0\.1:9060': not a collector address \(expected udp:host:port, tcp:host:port/,
    );
    const [id] = errors('{ duplicate_uri: udp:127.0.0.1:9060, hep_capture_id: -1 }');
    assert.match(id ?? '', /hep_capture_id: expected an integer 0\.\.4294967295/);
  });
});
