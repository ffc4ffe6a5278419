import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, formatIssue } from '../../../src/config/errors.js';
import { parseConfig } from '../../../src/config/load.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The formatted issues of a configuration text that must fail. */
function errors(text: string): string[] {
  try {
    parseConfig(text, 'flowgate.yaml', { cwd: ROOT });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.issues.map(formatIssue);
  }
  assert.fail('expected the configuration to be rejected');
}

const HINT =
  /IPv6 listen string inside a \[ \] list must be quoted: listen: \["udp:\[::1\]:5060"\]/;

describe('config: an unquoted IPv6 listen string in a [ ] list', () => {
  test('the YAML syntax error says to quote it, at its line', () => {
    for (const listen of [
      '[udp:[::1]:5060, tcp:127.0.0.1:5060]',
      '[udp:127.0.0.1:5060, tcp:[2001:db8::1]:5060]',
      '["udp:[::1]:5060", tcp:[::1]:5060]',
    ]) {
      const [e, ...more] = errors(`elements:\n  edge:\n    listen: ${listen}\n`);
      assert.equal(more.length, 0, `${listen}: ${more.join('\n')}`);
      assert.match(e ?? '', /^flowgate\.yaml:3:\d+: YAML syntax: /, listen);
      assert.match(e ?? '', HINT, listen);
    }
  });

  test('quoted, or as a block list, it parses', () => {
    for (const text of [
      'elements:\n  edge:\n    listen: ["udp:[::1]:5060", "tcp:[::1]:5060"]\n    edge: { registrar: "sip:[::1]:5070" }\n',
      'elements:\n  edge:\n    listen:\n      - udp:[::1]:5060\n      - tcp:[::1]:5060\n    edge: { registrar: "sip:[::1]:5070" }\n',
      'elements:\n  edge:\n    listen: udp:[::1]:5060\n    edge: { registrar: "sip:[::1]:5070" }\n',
    ]) {
      const c = parseConfig(text, 'flowgate.yaml', { cwd: ROOT });
      assert.ok(c.elements['edge'], text);
    }
  });

  test('other YAML syntax errors get no IPv6 hint', () => {
    const [e] = errors('elements:\n  edge: { listen: [udp:127.0.0.1:5060 }\n');
    assert.match(e ?? '', /YAML syntax: /);
    assert.doesNotMatch(e ?? '', /IPv6/);
  });

  test("examples/flowgate.yaml's listen comment shows the quoted form", () => {
    const text = readFileSync(join(ROOT, 'examples', 'flowgate.yaml'), 'utf8');
    assert.match(text, /# .*\["udp:\[::1\]:5060"\]/);
    assert.doesNotMatch(text, /IPv6 as udp:\[::1\]:5060/);
  });
});
