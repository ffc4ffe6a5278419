// Issue 12 §5: `flowgate start --set path.to.key=value` (repeatable) changes any key of the
// configuration from the command line: the value is read as YAML, missing mappings are created,
// and it is applied after the environment is expanded and before the schema reads the file, so a
// wrong value gets the file's message, located at the argument instead of a line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, formatIssue } from '../../../src/config/errors.js';
import { loadConfig, parseConfig } from '../../../src/config/load.js';
import { parseSetOption } from '../../../src/config/overrides.js';
import type { Config } from '../../../src/config/types.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-set-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

function parse(text: string, set: string[], env: Record<string, string> = {}): Config {
  return parseConfig(text, 'flowgate.yaml', { cwd: DIR, env, set });
}

function errors(text: string, set: string[], env: Record<string, string> = {}): string[] {
  try {
    parse(text, set, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.issues.map(formatIssue);
  }
  assert.fail('expected the configuration to be rejected');
}

/** The value a --set argument gives. */
function setValue(arg: string): unknown {
  const r = parseSetOption(arg);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.override.value;
}

/** An edge and a registrar on loopback, as examples/flowgate.yaml. */
const FILE = [
  'management:',
  '  listen: 127.0.0.1:8081',
  'elements:',
  '  edge:',
  '    listen: [udp:127.0.0.1:5060]',
  '  registrar:',
  '    listen: [udp:127.0.0.1:5070]',
  '',
].join('\n');

describe('--set: the value is YAML, the path dotted', () => {
  test('scalars, lists and mappings as YAML reads them; quotes keep text', () => {
    assert.equal(setValue('a=5070'), 5070);
    assert.equal(setValue('a=true'), true);
    assert.equal(setValue('a=127.0.0.1:8082'), '127.0.0.1:8082');
    assert.equal(setValue('a=/var/lib/flowgate/edge2'), '/var/lib/flowgate/edge2');
    assert.equal(setValue('a="0123"'), '0123');
    assert.equal(setValue('a='), null);
    assert.equal(setValue('a=x=y'), 'x=y', 'the first = ends the path');
    assert.deepEqual(setValue('a=[udp:127.0.0.1:5070, "udp:[::1]:5070"]'), [
      'udp:127.0.0.1:5070',
      'udp:[::1]:5070',
    ]);
    assert.deepEqual(setValue('a={ backend: redis, url: "redis://127.0.0.1" }'), {
      backend: 'redis',
      url: 'redis://127.0.0.1',
    });
  });

  test('paths: dotted keys, a list item by .N or [N]', () => {
    const keys = (arg: string): readonly string[] => {
      const r = parseSetOption(arg);
      assert.ok(r.ok);
      return r.override.keys;
    };
    assert.deepEqual(keys('elements.edge.listen.0=x'), ['elements', 'edge', 'listen', '0']);
    assert.deepEqual(keys('elements.edge.listen[1]=x'), ['elements', 'edge', 'listen', '1']);
    assert.deepEqual(keys('elements.edge-2.modules.auth_db.backend=x'), [
      'elements',
      'edge-2',
      'modules',
      'auth_db',
      'backend',
    ]);
  });

  test('arguments that are not path=value, values that are not YAML', () => {
    const message = (arg: string): string => {
      const r = parseSetOption(arg);
      assert.ok(!r.ok, arg);
      return r.message;
    };
    assert.match(message('management.listen'), /^expected KEY=VALUE/);
    assert.match(message('a..b=1'), /^bad key path 'a\.\.b': keys joined by dots/);
    assert.match(message('=1'), /^bad key path ''/);
    assert.match(message('a b=1'), /^bad key path 'a b'/);
    assert.match(message('a=[1'), /^the value is not YAML: .*quote the value/);
    assert.match(message('a=*x'), /^the value is not YAML: /);
  });
});

describe('--set: applied over the file', () => {
  test('two processes from one file: management.listen and data_dir differ', () => {
    const a = parse(FILE, ['management.listen=127.0.0.1:8082', 'data_dir=/var/lib/flowgate/edge2']);
    assert.deepEqual(a.management.listen, { host: '127.0.0.1', port: 8082 });
    assert.equal(a.data_dir, '/var/lib/flowgate/edge2');
    const b = parse(FILE, []);
    assert.deepEqual(b.management.listen, { host: '127.0.0.1', port: 8081 });
    assert.equal(b.data_dir, join(DIR, '.data'));
  });

  test('a relative data_dir is relative to the file, as in the file; --data-dir wins', () => {
    assert.equal(parse(FILE, ['data_dir=edge2.data']).data_dir, join(DIR, 'edge2.data'));
    const c = parseConfig(FILE, 'flowgate.yaml', {
      cwd: DIR,
      set: ['data_dir=edge2.data'],
      dataDir: '/srv/x',
    });
    assert.equal(c.data_dir, '/srv/x');
  });

  test('a list, a list item (replaced, appended), a value of any type', () => {
    const c = parse(FILE, [
      'elements.edge.listen=[udp:127.0.0.1:5080]',
      'elements.registrar.listen.0=tcp:127.0.0.1:5072',
      'elements.registrar.listen[1]=udp:127.0.0.1:5074',
      'elements.edge.tcp_connection_lifetime=3600',
      'elements.edge.force_rport=yes',
    ]);
    const edge = c.elements['edge'];
    assert.deepEqual(
      edge?.listen.map((l) => `${l.proto}:${l.port}`),
      ['udp:5080'],
    );
    assert.deepEqual(
      c.elements['registrar']?.listen.map((l) => `${l.proto}:${l.port}`),
      ['tcp:5072', 'udp:5074'],
    );
    assert.equal(edge?.tcp_connection_lifetime, 3600);
    assert.equal(edge?.force_rport, true);
  });

  test('missing mappings are created; the keys next to the one set keep their defaults', () => {
    const plain = parse(FILE, []);
    const c = parse(FILE, [
      'elements.registrar.modules.usrloc.backend=redis',
      'elements.registrar.modules.usrloc.url=redis://127.0.0.1:6379',
      'elements.edge.modules.tm.fr_timer=4000',
    ]);
    const usrloc = c.elements['registrar']?.modules.usrloc;
    assert.equal(usrloc?.backend, 'redis');
    assert.equal(usrloc?.backend === 'redis' && usrloc.url, 'redis://127.0.0.1:6379');
    assert.equal(
      usrloc?.timer_interval,
      plain.elements['registrar']?.modules.usrloc?.timer_interval,
    );
    const tm = c.elements['edge']?.modules.tm;
    assert.equal(tm?.fr_timer, 4000);
    assert.equal(tm?.fr_inv_timer, plain.elements['edge']?.modules.tm.fr_inv_timer);
    assert.deepEqual(c.elements['edge']?.listen, plain.elements['edge']?.listen);
  });

  test('a null mapping (outbound:) becomes one; later arguments win; a parent then a child', () => {
    const text = FILE.replace(
      '    listen: [udp:127.0.0.1:5060]',
      '    listen: [udp:127.0.0.1:5060]\n    modules:\n      outbound:',
    );
    const secret = 'x'.repeat(40);
    const c = parse(text, [
      `elements.edge.modules.outbound.flow_token_secret=${secret}`,
      'elements.edge.tcp_connection_lifetime=100',
      'elements.edge.tcp_connection_lifetime=200',
      'management={ listen: 127.0.0.1:9001 }',
      'management.hosts=[flowgate.example]',
    ]);
    assert.equal(c.elements['edge']?.modules.outbound?.flow_token_secret, secret);
    assert.equal(c.elements['edge']?.tcp_connection_lifetime, 200);
    assert.deepEqual(c.management.listen, { host: '127.0.0.1', port: 9001 });
    assert.deepEqual(c.management.hosts, ['flowgate.example']);
  });

  test('a file without elements: a --set starts from the default edge + registrar', () => {
    const c = parse('management: { listen: false }\n', ['elements.edge.listen=udp:127.0.0.1:5090']);
    assert.deepEqual(Object.keys(c.elements), ['edge', 'registrar']);
    assert.deepEqual(
      c.elements['edge']?.listen.map((l) => l.port),
      [5090],
    );
  });

  test('no file (the built-in configuration): --set applies to it', () => {
    const c = loadConfig(undefined, {
      cwd: DIR,
      set: ['management.listen=127.0.0.1:8099', 'data_dir=other.data'],
    });
    assert.deepEqual(Object.keys(c.elements), ['edge', 'registrar']);
    assert.deepEqual(c.management.listen, { host: '127.0.0.1', port: 8099 });
    assert.equal(c.data_dir, join(DIR, 'other.data'));
    assert.deepEqual(c.where(['management', 'listen']), {
      file: '--set management.listen=127.0.0.1:8099',
      line: undefined,
      col: undefined,
    });
    assert.throws(
      () => loadConfig(undefined, { cwd: DIR, set: ['management.listen=5'] }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.map(formatIssue).join('\n') ===
          '--set management.listen=5: expected host:port (e.g. 127.0.0.1:8081) or false to disable, got 5',
    );
  });

  test('where(): a value from --set is at the argument, the others at their line', () => {
    const c = parse(FILE, ['elements.edge.listen=[udp:127.0.0.1:5080]']);
    assert.deepEqual(c.where(['elements', 'edge', 'listen', 0]), {
      file: '--set elements.edge.listen=[udp:127.0.0.1:5080]',
      line: undefined,
      col: undefined,
    });
    assert.deepEqual(c.where(['elements', 'registrar', 'listen', 0]), {
      file: 'flowgate.yaml',
      line: 7,
      col: 14,
    });
  });
});

describe('--set: environment references', () => {
  const text = [
    'management:',
    '  listen: ${MGMT_LISTEN}',
    'elements:',
    '  edge:',
    '    listen: [udp:127.0.0.1:5060]',
    '    tcp_connection_lifetime: ${LIFETIME:-600}',
    '  registrar: {}',
    '',
  ].join('\n');

  test('a reference the --set replaces need not be set; the others are still expanded', () => {
    const c = parse(text, ['management.listen=127.0.0.1:8082'], {});
    assert.deepEqual(c.management.listen, { host: '127.0.0.1', port: 8082 });
    assert.equal(c.elements['edge']?.tcp_connection_lifetime, 600);
    assert.deepEqual(errors(text, [], {}), [
      'flowgate.yaml:2:11: management.listen: environment variable MGMT_LISTEN is not set: set it, or give a default with ${MGMT_LISTEN:-value}',
    ]);
  });

  test('the --set value wins over the environment, and is not expanded itself', () => {
    const c = parse(text, ['elements.edge.tcp_connection_lifetime=900'], {
      MGMT_LISTEN: '127.0.0.1:8085',
      LIFETIME: '700',
    });
    assert.equal(c.elements['edge']?.tcp_connection_lifetime, 900);
    assert.deepEqual(c.management.listen, { host: '127.0.0.1', port: 8085 });
    // the shell expands $VAR; a --set value is taken as written
    assert.deepEqual(
      errors(text, ['management.listen=${MGMT_LISTEN}'], { MGMT_LISTEN: '127.0.0.1:8085' }),
      [
        "--set management.listen=${MGMT_LISTEN}: expected host:port, e.g. 127.0.0.1:8081, got '${MGMT_LISTEN}'",
      ],
    );
  });
});

describe('--set: problems name the argument, with the message the file would get', () => {
  test('a wrong value: the schema message, at the argument', () => {
    assert.deepEqual(errors(FILE, ['elements.edge.tcp_connection_lifetime=abc']), [
      '--set elements.edge.tcp_connection_lifetime=abc: expected a positive integer (seconds), got "abc"',
    ]);
    assert.deepEqual(errors(FILE, ['elements.registrar.modules.usrloc.backend=reds']), [
      '--set elements.registrar.modules.usrloc.backend=reds: expected memory, sqlite or redis, got "reds"',
    ]);
  });

  test('an unknown key: did you mean, as in the file', () => {
    assert.deepEqual(
      errors(FILE, ['elements.edge.tcp_conection_lifetime=5', 'managment.listen=127.0.0.1:1']),
      [
        "--set elements.edge.tcp_conection_lifetime=5: unknown key 'tcp_conection_lifetime' (did you mean 'tcp_connection_lifetime'?)",
        "--set managment.listen=127.0.0.1:1: managment: unknown key 'managment' (did you mean 'management'?)",
      ],
    );
  });

  test('an element the file does not have: did you mean, unless set whole', () => {
    assert.deepEqual(errors(FILE, ['elements.edg.listen=udp:127.0.0.1:5090']), [
      "--set elements.edg.listen=udp:127.0.0.1:5090: no element 'edg' (did you mean 'edge'?); the elements are edge, registrar (a new one is set whole: elements.edg='{ script: …, listen: […] }')",
    ]);
    const c = parse(FILE, ['elements.static1={ script: static, listen: udp:127.0.0.1:5094 }']);
    assert.deepEqual(Object.keys(c.elements), ['edge', 'registrar', 'static1']);
  });

  test('a key below a value, an index past the end, a key into a list', () => {
    assert.deepEqual(
      errors(FILE, [
        'management.listen.port=1',
        'elements.edge.listen.3=udp:127.0.0.1:1',
        'elements.edge.listen.first=udp:127.0.0.1:1',
      ]),
      [
        `--set management.listen.port=1: management.listen is "127.0.0.1:8081", not a mapping: set it whole (management.listen='{ port: … }')`,
        '--set elements.edge.listen.3=udp:127.0.0.1:1: elements.edge.listen is a list of 1 item: index 3 is past its end (1 appends)',
        "--set elements.edge.listen.first=udp:127.0.0.1:1: elements.edge.listen is a list: give an item by its index (elements.edge.listen.0), not 'first'",
      ],
    );
  });

  test('every problem at once: the arguments in their order, then the file', () => {
    const text = FILE.replace('listen: 127.0.0.1:8081', 'listen: 127.0.0.1:8081\n  tokn: x');
    assert.deepEqual(errors(text, ['elements.edge.children=0', 'elements.x.y=1']), [
      '--set elements.edge.children=0: expected a positive integer (processes), got 0',
      "--set elements.x.y=1: no element 'x'; the elements are edge, registrar (a new one is set whole: elements.x='{ script: …, listen: […] }')",
      "flowgate.yaml:3:3: management.tokn: unknown key 'tokn' (did you mean 'token'?)",
    ]);
  });

  test('a cross-check a --set value fails (a port taken twice) names the argument', () => {
    assert.deepEqual(errors(FILE, ['elements.registrar.listen=[udp:127.0.0.1:5060]']), [
      '--set elements.registrar.listen=[udp:127.0.0.1:5060]: elements.registrar.listen[0]: udp:127.0.0.1:5060 uses UDP port 5060, already used by elements.edge.listen[0] (udp:127.0.0.1:5060)',
    ]);
  });

  test('a secret is not echoed: the argument is shown without its value', () => {
    assert.deepEqual(errors(FILE, ['elements.edge.modules.outbound.flow_token_secret=hunter2']), [
      '--set elements.edge.modules.outbound.flow_token_secret=…: expected a secret of at least 32 characters (e.g. openssl rand -hex 32), got a string of 7 characters',
    ]);
    assert.deepEqual(errors(FILE, ['management={ token: [hunter2 }']), [
      `--set management=…: the value is not YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (quote the value to take it as text: management='"…"')`,
    ]);
    assert.deepEqual(errors(FILE, ['management={ token: hunter2 }']), [
      '--set management=…: management.token: expected a token of at least 16 characters (e.g. openssl rand -hex 16), got a string of 7 characters',
    ]);
  });
});

describe('--set: a Kamailio .cfg configuration', () => {
  const CFG = [
    '#!KAMAILIO',
    'listen=udp:127.0.0.1:5070',
    'tcp_connection_lifetime=40',
    'loadmodule "tm.so"',
    'loadmodule "sl.so"',
    'loadmodule "usrloc.so"',
    'loadmodule "registrar.so"',
    'request_route {',
    '  if (!save("location")) sl_reply_error();',
    '}',
    '',
  ].join('\n');

  test('applies to the keys the .cfg maps to (element named after the file)', () => {
    writeFileSync(join(DIR, 'registrar.cfg'), CFG);
    const c = loadConfig('registrar.cfg', {
      cwd: DIR,
      set: [
        'elements.registrar.listen=udp:127.0.0.1:5090',
        'management.listen=127.0.0.1:8093',
        'data_dir=/var/lib/flowgate/r2',
      ],
    });
    assert.deepEqual(
      c.elements['registrar']?.listen.map((l) => l.port),
      [5090],
    );
    assert.equal(c.elements['registrar']?.tcp_connection_lifetime, 40);
    assert.deepEqual(c.management.listen, { host: '127.0.0.1', port: 8093 });
    assert.equal(c.data_dir, '/var/lib/flowgate/r2');
    assert.equal(
      c.where(['elements', 'registrar', 'listen']).file,
      '--set elements.registrar.listen=udp:127.0.0.1:5090',
    );
    assert.equal(c.where(['elements', 'registrar', 'tcp_connection_lifetime']).line, 3);
  });

  test('its problems name the argument, in the words of a YAML file', () => {
    writeFileSync(join(DIR, 'registrar.cfg'), CFG);
    let got: string[] = [];
    try {
      loadConfig('registrar.cfg', {
        cwd: DIR,
        set: [
          'elements.registrar.tcp_connection_lifetime=abc',
          'elements.registrar.tcp_conection_lifetime=1',
          'elements.registar.listen=x',
        ],
      });
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      got = e.issues.map(formatIssue);
    }
    assert.deepEqual(got, [
      '--set elements.registrar.tcp_connection_lifetime=abc: expected a positive integer (seconds), got "abc"',
      "--set elements.registrar.tcp_conection_lifetime=1: unknown key 'tcp_conection_lifetime' (did you mean 'tcp_connection_lifetime'?)",
      "--set elements.registar.listen=x: no element 'registar' (did you mean 'registrar'?); the elements are registrar (a new one is set whole: elements.registar='{ script: …, listen: […] }')",
    ]);
  });

  test('script: x.cfg in YAML: a --set wins over the .cfg (no conflict)', () => {
    writeFileSync(join(DIR, 'registrar.cfg'), CFG);
    const text = 'elements:\n  registrar:\n    script: ./registrar.cfg\n';
    const c = parse(text, [
      'elements.registrar.listen=[udp:127.0.0.1:5091]',
      'elements.registrar.tcp_connection_lifetime=50',
    ]);
    assert.deepEqual(
      c.elements['registrar']?.listen.map((l) => l.port),
      [5091],
    );
    assert.equal(c.elements['registrar']?.tcp_connection_lifetime, 50);
    // the same value in the YAML is a conflict with the .cfg
    assert.match(
      errors(
        text.replace('registrar.cfg\n', 'registrar.cfg\n    tcp_connection_lifetime: 50\n'),
        [],
      )[0] ?? '',
      /tcp_connection_lifetime=40 conflicts with elements\.registrar\.tcp_connection_lifetime/,
    );
  });
});
