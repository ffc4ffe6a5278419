// Issue 12 §5: YAML merge keys (`<<: *defaults`, YAML 1.1) in flowgate.yaml, so that one file
// describes several processes. The file's own keys win over merged ones, and of a list of merged
// mappings the first wins (as the `yaml` package merges); a merge is shallow, a nested `<<` merges
// deeper. A message about a merged value points at the line where the value is written (inside
// the anchored mapping) and names the path it was merged into.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, formatIssue } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-merge-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

function parse(text: string, env: Record<string, string> = {}): Config {
  return parseConfig(text, 'flowgate.yaml', { cwd: DIR, env });
}

function errors(text: string, env: Record<string, string> = {}): string[] {
  try {
    parse(text, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.issues.map(formatIssue);
  }
  assert.fail('expected the configuration to be rejected');
}

/** Two edges and a registrar; the edges share an anchored mapping under a top-level x- key. */
const TWO_EDGES = [
  'x-edge: &edge', //                                   1
  '  script: edge', //                                  2
  '  tcp_connection_lifetime: 30', //                   3
  '  force_rport: true', //                             4
  '  modules:', //                                      5
  '    tm: { fr_timer: 4000, fr_inv_timer: 90000 }', // 6
  'elements:', //                                       7
  '  edge:', //                                         8
  '    <<: *edge', //                                   9
  '    listen: [udp:127.0.0.1:5060]', //                10
  '  edge2:', //                                        11
  '    tcp_connection_lifetime: 40', //                 12
  '    <<: *edge', //                                   13
  '    listen: [udp:127.0.0.1:5062]', //                14
  '  registrar: {}', //                                 15
  '',
];

describe('config: YAML merge keys', () => {
  test('<<: *anchor brings the anchored keys in; the mapping own keys win, before or after <<', () => {
    const c = parse(TWO_EDGES.join('\n'));
    assert.deepEqual(Object.keys(c.elements), ['edge', 'edge2', 'registrar']);
    const edge = c.elements['edge'];
    const edge2 = c.elements['edge2'];
    assert.equal(edge?.script.kind === 'builtin' && edge.script.name, 'edge');
    assert.equal(edge2?.script.kind === 'builtin' && edge2.script.name, 'edge');
    assert.equal(edge?.tcp_connection_lifetime, 30);
    assert.equal(edge2?.tcp_connection_lifetime, 40, 'own key before << wins');
    assert.equal(edge2?.force_rport, true);
    assert.equal(edge2?.modules.tm.fr_timer, 4000);
    assert.deepEqual(
      edge2?.listen.map((l) => l.port),
      [5062],
    );
  });

  test('top-level x- keys hold anchors and are not read', () => {
    const c = parse('x-anything: { whatever: 1 }\nx-other: 5\n');
    assert.deepEqual(Object.keys(c.elements), ['edge', 'registrar']);
  });

  test('a list of aliases: the first mapping that has a key gives it; own keys win over all', () => {
    const c = parse(
      [
        'x-a: &a { tcp_connection_lifetime: 60, tcp_connect_timeout: 3 }',
        'x-b: &b { tcp_connection_lifetime: 70, children: 2, tcp_connect_timeout: 4 }',
        'elements:',
        '  edge:',
        '    <<: [*a, *b]',
        '    tcp_connect_timeout: 7',
        '  registrar: {}',
        '',
      ].join('\n'),
    );
    const edge = c.elements['edge'];
    assert.equal(edge?.tcp_connection_lifetime, 60, 'the first in the list wins');
    assert.equal(edge?.children, 2, 'a key only the second has');
    assert.equal(edge?.tcp_connect_timeout, 7, 'own key');
  });

  test('a merge is shallow; a nested << merges one level deeper', () => {
    const text = [
      'x-mods: &mods',
      '  tm: &tm { fr_timer: 4000, fr_inv_timer: 90000 }',
      '  rr: { append_fromtag: 0 }',
      'elements:',
      '  edge:',
      '    modules:',
      '      <<: *mods',
      '      tm: { fr_timer: 5000 }', // replaces tm whole: fr_inv_timer back to its default
      '  registrar:',
      '    modules:',
      '      <<: *mods',
      '      tm:',
      '        <<: *tm',
      '        fr_timer: 6000', // merges into tm: fr_inv_timer stays 90000
      '',
    ].join('\n');
    const c = parse(text);
    const edge = c.elements['edge']?.modules;
    const reg = c.elements['registrar']?.modules;
    const defaults = parse('elements: { edge: {}, registrar: {} }\n').elements['edge']?.modules.tm;
    assert.equal(edge?.tm.fr_timer, 5000);
    assert.equal(edge?.tm.fr_inv_timer, defaults?.fr_inv_timer);
    assert.equal(edge?.rr.append_fromtag, false);
    assert.equal(reg?.tm.fr_timer, 6000);
    assert.equal(reg?.tm.fr_inv_timer, 90000);
    assert.equal(reg?.rr.append_fromtag, false);
  });

  test('a whole element from an alias, and an inline mapping after <<', () => {
    const c = parse(
      [
        'elements:',
        '  edge: &e',
        '    listen: [udp:127.0.0.1:5060]',
        '    tcp_connection_lifetime: 12',
        '  edge2:',
        '    <<: [{ script: edge, listen: [udp:127.0.0.1:5062] }, *e]',
        '  registrar: {}',
        '',
      ].join('\n'),
    );
    assert.equal(c.elements['edge2']?.tcp_connection_lifetime, 12);
    assert.deepEqual(
      c.elements['edge2']?.listen.map((l) => l.port),
      [5062],
    );
  });

  test('a wrong value in an anchor: at the line it is written, once per element that merges it', () => {
    const text = TWO_EDGES.join('\n').replace('fr_timer: 4000', 'fr_timer: abc');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:6:21: elements.edge.modules.tm.fr_timer: expected a positive integer (milliseconds), got "abc"',
      'flowgate.yaml:6:21: elements.edge2.modules.tm.fr_timer: expected a positive integer (milliseconds), got "abc"',
    ]);
  });

  test('a merged value the element overrides is not read; an own wrong value is at its own line', () => {
    const text = TWO_EDGES.join('\n')
      .replace('tcp_connection_lifetime: 30', 'tcp_connection_lifetime: -1')
      .replace('tcp_connection_lifetime: 40', 'tcp_connection_lifetime: 0');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:3:28: elements.edge.tcp_connection_lifetime: expected a positive integer (seconds), got -1',
      'flowgate.yaml:12:30: elements.edge2.tcp_connection_lifetime: expected a positive integer (seconds), got 0',
    ]);
  });

  test('an unknown key in an anchor: at the key, with did you mean', () => {
    const text = TWO_EDGES.join('\n').replace('  force_rport: true', '  force_rprt: true');
    assert.deepEqual(errors(text), [
      "flowgate.yaml:4:3: elements.edge.force_rprt: unknown key 'force_rprt' (did you mean 'force_rport'?)",
      "flowgate.yaml:4:3: elements.edge2.force_rprt: unknown key 'force_rprt' (did you mean 'force_rport'?)",
    ]);
  });

  test('a value from the environment in an anchor: named by its reference at every merged path', () => {
    const text = [
      'x-static: &static',
      '  script: static',
      '  modules:',
      '    tm:',
      '      fr_timer: ${FR_TIMER}',
      'elements:',
      '  a: { <<: *static, listen: udp:127.0.0.1:5090 }',
      '  b: { <<: *static, listen: udp:127.0.0.1:5092 }',
      '',
    ].join('\n');
    assert.deepEqual(errors(text, { FR_TIMER: 'soon' }), [
      'flowgate.yaml:5:17: elements.a.modules.tm.fr_timer: expected a positive integer (milliseconds), got a string from ${FR_TIMER}',
      'flowgate.yaml:5:17: elements.b.modules.tm.fr_timer: expected a positive integer (milliseconds), got a string from ${FR_TIMER}',
    ]);
    const c = parse(text, { FR_TIMER: '2500' });
    assert.equal(c.elements['b']?.modules.tm.fr_timer, 2500);
  });

  test('an unset reference in a mapping written after <<: the path is the merging one', () => {
    const text = [
      'elements:',
      '  edge:',
      '    <<: [{ script: edge }, { tcp_connection_lifetime: "${LIFETIME}" }]',
      '  registrar: {}',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:3:55: elements.edge.tcp_connection_lifetime: environment variable LIFETIME is not set: set it, or give a default with ${LIFETIME:-value}',
    ]);
  });

  test('a merge key of something else than a mapping, an unknown alias: at their line and column', () => {
    assert.deepEqual(errors('elements:\n  edge:\n    <<: 5\n'), [
      'flowgate.yaml:3:9: YAML: a merge key (<<) takes a mapping, an alias of one (<<: *defaults) or a list of them (<<: [*a, *b])',
    ]);
    assert.deepEqual(errors('x-l: &l [1]\nelements:\n  edge:\n    <<: [*l]\n'), [
      'flowgate.yaml:4:10: YAML: a merge key (<<) takes a mapping, an alias of one (<<: *defaults) or a list of them (<<: [*a, *b])',
    ]);
    assert.deepEqual(errors('elements:\n  edge:\n    <<: *edge\n'), [
      'flowgate.yaml:3:9: YAML: unknown alias *edge: the anchor &edge must come before it',
    ]);
  });

  test('a quoted "<<" is an ordinary key, and unknown', () => {
    assert.deepEqual(errors('x-a: &a { children: 1 }\nelements:\n  edge:\n    "<<": *a\n'), [
      "flowgate.yaml:4:5: elements.edge.<<: unknown key '<<'; expected one of: script, listen, advertise, tls, alias, force_rport, tcp_connection_lifetime, tcp_connect_timeout, children, server_header, allow_unauthenticated, edge, modules",
    ]);
  });
});
