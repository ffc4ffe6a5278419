import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, type ConfigIssue, formatIssue } from '../../../src/config/errors.js';
import { loadConfig, parseConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-config-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

/** Parses a config text as DIR/flowgate.yaml; the cwd is DIR so messages say `flowgate.yaml:…`. */
function parse(text: string): Config {
  return parseConfig(text, 'flowgate.yaml', { cwd: DIR });
}

/** The issues of a config that must fail, formatted `file:line:col: path: message`. */
function errors(text: string): string[] {
  try {
    parse(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.code, 'SIP_ERR_CONFIG');
    return e.issues.map(formatIssue);
  }
  assert.fail('expected the configuration to be rejected');
}

function issues(text: string): readonly ConfigIssue[] {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  assert.fail('expected the configuration to be rejected');
}

describe('config: typical mistakes name file, line, column, what is wrong and what would be right', () => {
  test('wrong type: tm.fr_timer "abc"', () => {
    const text = [
      'elements:',
      '  edge:',
      '    modules:',
      '      tm:',
      '        fr_timer: abc',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:5:19: elements.edge.modules.tm.fr_timer: expected a positive integer (milliseconds), got "abc"',
    ]);
  });

  test('wrong type: a flag that is not a flag, a number where a list is expected', () => {
    const text = ['elements:', '  edge:', '    force_rport: maybe', '    alias: 5', ''].join('\n');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:3:18: elements.edge.force_rport: expected true or false (also accepted: 1/0, yes/no, on/off), got "maybe"',
      'flowgate.yaml:4:12: elements.edge.alias: expected a host name or a list of host names, got 5',
    ]);
  });

  test('unknown key: did you mean, at the key', () => {
    const text = [
      'elements:',
      '  edge:',
      '    modules:',
      '      rr: { apend_fromtag: 0 }',
      '  registrar:',
      '    tcp_conection_lifetime: 30',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), [
      "flowgate.yaml:4:13: elements.edge.modules.rr.apend_fromtag: unknown key 'apend_fromtag' (did you mean 'append_fromtag'?)",
      "flowgate.yaml:6:5: elements.registrar.tcp_conection_lifetime: unknown key 'tcp_conection_lifetime' (did you mean 'tcp_connection_lifetime'?)",
    ]);
  });

  test('unknown key: a Kamailio global gets where it lives in flowgate', () => {
    const [e] = errors('debug: 2\n');
    assert.match(e ?? '', /^flowgate\.yaml:1:1: debug: unknown key 'debug': use log\.level/);
  });

  test('unknown key without a close match lists the keys there are', () => {
    const [e] = errors('elements:\n  edge:\n    modules:\n      sanity: { zzz: 1 }\n');
    assert.equal(
      e,
      "flowgate.yaml:4:17: elements.edge.modules.sanity.zzz: unknown key 'zzz'; expected one of: autodrop",
    );
  });

  test('bad listen strings: IPv6 without brackets, unknown transport, WS without port, a host name', () => {
    const text = [
      'elements:',
      '  edge:',
      '    listen:',
      '      - "udp:::1:5060"',
      '      - sctp:127.0.0.1:5060',
      '      - ws:127.0.0.1',
      '      - tcp:localhost:5060',
      '      - udp:127.0.0.1:99999',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:4:9: elements.edge.listen[0]: an IPv6 address needs brackets: [::1]:5060 (expected proto:address:port, e.g. udp:127.0.0.1:5060 or tcp:[::1]:5060)',
      "flowgate.yaml:5:9: elements.edge.listen[1]: unknown transport 'sctp' (expected one of udp, tcp, tls, ws, wss) in 'sctp:127.0.0.1:5060'",
      'flowgate.yaml:6:9: elements.edge.listen[2]: ws needs a port, e.g. ws:127.0.0.1:8080',
      "flowgate.yaml:7:9: elements.edge.listen[3]: 'localhost' is not an IP address: use 127.0.0.1 or [::1]",
      "flowgate.yaml:8:9: elements.edge.listen[4]: bad port '99999' (expected 0..65535) (expected proto:address:port, e.g. udp:127.0.0.1:5060 or tcp:[::1]:5060)",
    ]);
  });

  test('listen object form: missing field and bad field', () => {
    const text = [
      'elements:',
      '  edge:',
      '    listen:',
      '      - { proto: udp, address: 127.0.0.1 }',
      '      - { proto: xyz, address: 127.0.0.1, port: 1 }',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:4:9: elements.edge.listen[0].port: missing: expected a port 0..65535 (0 = any free port)',
      'flowgate.yaml:5:18: elements.edge.listen[1].proto: expected one of udp, tcp, tls, ws, wss, got "xyz"',
    ]);
  });

  test('TLS listener without a certificate', () => {
    const text = [
      'elements:',
      '  edge:',
      '    listen: [udp:127.0.0.1:5060, tls:127.0.0.1:5061]',
      '  registrar: {}',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:3:34: elements.edge.listen[1]: a tls listener needs a certificate: add tls: { cert: server.pem, key: server.key } to elements.edge',
    ]);
  });

  test('management off loopback without a token', () => {
    const [e] = errors('management: { listen: 0.0.0.0:8081 }\n');
    assert.match(
      e ?? '',
      /^flowgate\.yaml:1:23: management\.listen: 0\.0\.0\.0:8081 is not a loopback address, so the API needs a token: set management\.token/,
    );
    // with a token it is accepted
    assert.equal(
      parse('management: { listen: 0.0.0.0:8081, token: 0123456789abcdef0123 }\n').management.listen
        ?.host,
      '0.0.0.0',
    );
  });

  test('a short management token: its length is told, never its text', () => {
    assert.deepEqual(errors('management: { token: abc }\n'), [
      'flowgate.yaml:1:22: management.token: expected a token of at least 16 characters (e.g. openssl rand -hex 16), got a string of 3 characters',
    ]);
  });

  test('management.hosts: extra Host names for the API, lower-cased; a list of names', () => {
    assert.deepEqual(
      parse('management: { hosts: [Flowgate.Example.com, localhost] }\n').management.hosts,
      ['flowgate.example.com', 'localhost'],
    );
    assert.deepEqual(parse('{}\n').management.hosts, []);
    assert.deepEqual(errors('management: { hosts: flowgate.example.com }\n'), [
      'flowgate.yaml:1:22: management.hosts: expected a list of host names, e.g. [flowgate.example.com], got "flowgate.example.com"',
    ]);
  });

  test('flow_token_secret: at least 32 characters, with the fix; the text is never echoed', () => {
    assert.deepEqual(
      errors(
        'elements:\n  edge:\n    modules:\n      outbound: { flow_token_secret: change-me }\n  registrar: {}\n',
      ),
      [
        'flowgate.yaml:4:38: elements.edge.modules.outbound.flow_token_secret: expected a secret of at least 32 characters (e.g. openssl rand -hex 32), got a string of 9 characters',
      ],
    );
    assert.deepEqual(
      errors(
        'elements:\n  edge:\n    modules:\n      outbound: { flow_token_secret_previous: "null" }\n  registrar: {}\n',
      ),
      [
        'flowgate.yaml:4:47: elements.edge.modules.outbound.flow_token_secret_previous: expected a secret of at least 32 characters (e.g. openssl rand -hex 32), got a string of 4 characters',
      ],
    );
  });

  test('flow_token_secret_previous: kept for a rotation; equal to the current secret is an error', () => {
    const cur = 'c'.repeat(32);
    const prev = 'p'.repeat(40);
    const c = parse(
      `elements:\n  edge:\n    modules:\n      outbound: { flow_token_secret: ${cur}, flow_token_secret_previous: ${prev} }\n  registrar: {}\n`,
    );
    assert.equal(c.elements['edge']?.modules.outbound?.flow_token_secret, cur);
    assert.equal(c.elements['edge']?.modules.outbound?.flow_token_secret_previous, prev);
    const [e] = errors(
      `elements:\n  edge:\n    modules:\n      outbound:\n        flow_token_secret: ${cur}\n        flow_token_secret_previous: ${cur}\n  registrar: {}\n`,
    );
    assert.equal(
      e,
      'flowgate.yaml:6:37: elements.edge.modules.outbound.flow_token_secret_previous: flow_token_secret_previous is the same as flow_token_secret: to rotate, set flow_token_secret to a new secret (openssl rand -hex 32) and keep the old one here',
    );
    assert.ok(!(e ?? '').includes(cur.slice(0, 8)), 'the secret is not echoed');
  });

  test('duplicate ports across elements (TCP, TLS, WS share the TCP space; 0.0.0.0 overlaps 127.0.0.1)', () => {
    const text = [
      'elements:',
      '  edge:',
      '    listen: [udp:127.0.0.1:5060, tcp:127.0.0.1:5060, ws:127.0.0.1:8080]',
      '    edge: { registrar: "sip:127.0.0.1:5070" }',
      '  other:',
      '    script: static',
      '    listen: [udp:0.0.0.0:5060, ws:127.0.0.1:5060, udp:127.0.0.1:8080]',
      '    allow_unauthenticated: true',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:7:14: elements.other.listen[0]: udp:0.0.0.0:5060 uses UDP port 5060, already used by elements.edge.listen[0] (udp:127.0.0.1:5060)',
      'flowgate.yaml:7:32: elements.other.listen[1]: ws:127.0.0.1:5060 uses TCP port 5060, already used by elements.edge.listen[1] (tcp:127.0.0.1:5060)',
    ]);
  });

  test('issue 10 §6: a public SIP listener needs authentication, or says explicitly that it needs none', () => {
    assert.deepEqual(
      errors('elements:\n  edge:\n    listen: [udp:0.0.0.0:5060]\n  registrar: {}\n'),
      [
        'flowgate.yaml:3:14: elements.edge.listen[0]: udp:0.0.0.0:5060 is not a loopback address and nothing authenticates the users of edge: load authentication on its registrar (elements.registrar.modules.auth: {}), or set elements.edge.allow_unauthenticated: true when the registrar authenticates in another process',
      ],
    );
    assert.deepEqual(errors('elements:\n  registrar:\n    listen: [udp:10.0.0.2:5060]\n'), [
      'flowgate.yaml:3:14: elements.registrar.listen[0]: udp:10.0.0.2:5060 is not a loopback address and nothing authenticates the users of registrar: set elements.registrar.modules.auth: {} (and add users with flowgate user add), or elements.registrar.allow_unauthenticated: true to expose it without authentication',
    ]);
    // the edge's registrar in this file authenticates: fine; so is an explicit allow_unauthenticated
    parse(
      'elements:\n  edge:\n    listen: [udp:0.0.0.0:5060]\n  registrar:\n    modules: { auth: {} }\n',
    );
    const c = parse(
      'elements:\n  edge:\n    listen: [udp:0.0.0.0:5060]\n    allow_unauthenticated: true\n  registrar: {}\n',
    );
    assert.equal(c.elements['edge']?.allow_unauthenticated, true);
  });

  test('the management port clashing with a SIP listener', () => {
    const [e] = errors('management: { listen: 127.0.0.1:5070 }\n');
    assert.equal(
      e,
      'flowgate.yaml:1:23: management.listen: management 127.0.0.1:5070 uses TCP port 5070, already used by elements.registrar (a default listener of its script) (tcp:127.0.0.1:5070)',
    );
  });

  test('tm timers are milliseconds, as in Kamailio: a value in seconds is caught', () => {
    assert.deepEqual(
      errors('elements:\n  edge:\n    modules: { tm: { fr_timer: 30 } }\n  registrar: {}\n'),
      [
        'flowgate.yaml:3:32: elements.edge.modules.tm.fr_timer: fr_timer is in milliseconds (as in Kamailio): 30 ms is shorter than a second; did you mean 30000?',
      ],
    );
  });

  test('unknown built-in script with a suggestion; script required for other names', () => {
    assert.deepEqual(
      errors(
        'elements:\n  edge: { script: egde, edge: { registrar: "sip:10.0.0.2" } }\n  foo: {}\n',
      ),
      [
        "flowgate.yaml:2:19: elements.edge.script: unknown built-in script 'egde' (did you mean 'edge'?): expected edge, registrar, static, or a path to a .js/.mjs/.ts file",
        'flowgate.yaml:3:8: elements.foo: script is required: edge, registrar, static, or a path to a .js/.mjs/.ts script (only elements named edge or registrar get a default)',
      ],
    );
  });

  test('an edge without a registrar to relay to', () => {
    assert.deepEqual(errors('elements:\n  edge: {}\n'), [
      'flowgate.yaml:2:9: elements.edge: edge.registrar is required: no element in this file runs script: registrar (e.g. edge: { registrar: "sip:10.0.0.2:5060" })',
    ]);
    assert.deepEqual(errors('elements:\n  edge: { edge: { registrar: "http://x" } }\n'), [
      "flowgate.yaml:2:30: elements.edge.edge.registrar: expected a SIP URI like sip:127.0.0.1:5070 (no scheme in 'http://x')".replace(
        "no scheme in 'http://x'",
        errorDetail('http://x'),
      ),
    ]);
  });

  test('settings that belong to another script', () => {
    const text = [
      'elements:',
      '  edge:',
      '    modules: { registrar: { use_path: 1 } }',
      '  registrar:',
      '    edge: { flow_timer: 20 }',
      '  s:',
      '    script: static',
      '    listen: [udp:127.0.0.1:5090]',
      '    modules: { usrloc: { backend: memory } }',
      '',
    ].join('\n');
    assert.deepEqual(errors(text), [
      'flowgate.yaml:3:16: elements.edge.modules.registrar: the edge script does not call save()/lookup(): remove modules.registrar, or use script: registrar or your own script',
      'flowgate.yaml:5:5: elements.registrar.edge: edge applies to script: edge only (this element runs registrar)',
      "flowgate.yaml:9:16: elements.s.modules.usrloc: usrloc is the registrar's location store, and script: static does not load the registrar module",
    ]);
  });

  test('tcp_connection_lifetime must exceed the flow timer', () => {
    assert.deepEqual(
      errors('elements:\n  edge: { tcp_connection_lifetime: 20 }\n  registrar: {}\n'),
      [
        "flowgate.yaml:2:36: elements.edge.tcp_connection_lifetime: tcp_connection_lifetime (20 s) must be larger than edge.flow_timer (20 s), or connections close before the UA's keep-alive (the outbound manual: FLOW_TIMER + 10)",
      ],
    );
  });

  test('usrloc: settings of another backend, redis without url', () => {
    assert.deepEqual(
      errors('elements:\n  registrar:\n    modules: { usrloc: { backend: redis, path: x.db } }\n'),
      [
        'flowgate.yaml:3:24: elements.registrar.modules.usrloc: backend redis needs url: redis://host:6379',
        'flowgate.yaml:3:42: elements.registrar.modules.usrloc.path: path does not apply to backend redis (only to sqlite)',
      ],
    );
  });

  test('YAML syntax errors and duplicate keys have positions too', () => {
    const [dup] = errors('log: {}\nlog: {}\n');
    assert.equal(
      dup,
      'flowgate.yaml:2:1: YAML syntax: duplicate key (each key may appear once in a mapping)',
    );
    const [bad] = errors('elements:\n  edge: { listen: [udp:127.0.0.1:5060 }\n');
    assert.match(bad ?? '', /^flowgate\.yaml:2:\d+: YAML syntax: /);
  });

  test('every problem is reported at once, in file order', () => {
    const text = 'log: { level: loud }\nelements:\n  edge:\n    children: 0\n  registrar: {}\n';
    assert.deepEqual(
      issues(text).map((i) => [i.line, i.col, i.path]),
      [
        [1, 15, 'log.level'],
        [4, 15, 'elements.edge.children'],
      ],
    );
  });

  test('a file that cannot be read', () => {
    try {
      loadConfig('nope.yaml', { cwd: DIR });
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'nope.yaml: cannot read the configuration: no such file');
    }
  });
});

function errorDetail(uri: string): string {
  // the URI parser's own words for a string without a SIP scheme
  try {
    parse(`elements:\n  edge: { edge: { registrar: "${uri}" } }\n`);
  } catch (e) {
    if (e instanceof ConfigError) return /\((.*)\)$/.exec(e.issues[0]?.message ?? '')?.[1] ?? '';
  }
  return '';
}

describe('config: files and paths', () => {
  test('an empty file is the embedded default; relative paths start at the file', () => {
    const sub = join(DIR, 'etc');
    const c = parseConfig('', join(sub, 'flowgate.yaml'), { cwd: DIR });
    assert.equal(c.file, join(sub, 'flowgate.yaml'));
    assert.equal(c.data_dir, join(sub, '.data'));
    assert.deepEqual(Object.keys(c.elements), ['edge', 'registrar']);
    const u = c.elements['registrar']?.modules.usrloc;
    assert.ok(u !== undefined && u.backend === 'sqlite');
    assert.equal(u.path, join(sub, '.data', 'location.db'));
  });

  test('--data-dir, --log-level and --pretty override the file', () => {
    const c = parseConfig('data_dir: /var/lib/x\nlog: { level: warn }\n', 'f.yaml', {
      cwd: DIR,
      dataDir: 'here',
      logLevel: 'debug',
      pretty: true,
    });
    assert.equal(c.data_dir, join(DIR, 'here'));
    assert.equal(c.log.level, 'debug');
    assert.equal(c.log.pretty, true);
  });

  test('TLS and script paths are relative to the config file; alias as a single string', () => {
    const c = parse(
      'elements:\n  edge:\n    tls: { cert: certs/a.pem, key: certs/a.key }\n    alias: example.com\n  registrar: {}\n  mine:\n    script: ./route.mjs\n    listen: [udp:127.0.0.1:5090]\n',
    );
    const edge = c.elements['edge'];
    assert.deepEqual(edge?.tls, {
      cert: join(DIR, 'certs/a.pem'),
      key: join(DIR, 'certs/a.key'),
      ca: undefined,
    });
    assert.deepEqual(edge?.alias, ['example.com']);
    // with a certificate, the edge's default listeners include TLS and WSS
    assert.deepEqual(
      edge?.listen.map((l) => `${l.proto}:${l.port}`),
      ['udp:5060', 'tcp:5060', 'ws:8080', 'tls:5061', 'wss:8443'],
    );
    assert.deepEqual(c.elements['mine']?.script, {
      kind: 'file',
      path: join(DIR, 'route.mjs'),
      source: './route.mjs',
    });
  });

  test('advertise: per element, per listener, with or without port', () => {
    const c = parse(
      'elements:\n  edge:\n    allow_unauthenticated: true\n    advertise: sip.example.com\n    listen: [udp:10.0.0.1:5060, "tcp:10.0.0.1:5060 advertise 203.0.113.1:15060", { proto: ws, address: 10.0.0.1, port: 8080, advertise: { host: ws.example.com, port: 443 } }]\n  registrar: {}\n',
    );
    assert.deepEqual(
      c.elements['edge']?.listen.map((l) => l.advertise),
      [
        { host: 'sip.example.com', port: 5060 },
        { host: '203.0.113.1', port: 15060 },
        { host: 'ws.example.com', port: 443 },
      ],
    );
  });

  test('the configuration is frozen; where() points into the file', () => {
    const c = parse('elements:\n  edge:\n    children: 4\n  registrar: {}\n');
    assert.ok(Object.isFrozen(c.elements['edge']?.modules.tm));
    assert.deepEqual(c.where(['elements', 'edge', 'children']), {
      file: 'flowgate.yaml',
      line: 3,
      col: 15,
    });
    assert.equal(c.elements['edge']?.children, 4);
  });

  test('a module key loads a module; false unloads it; null loads it with defaults', () => {
    const c = parse(
      'elements:\n  edge:\n    modules: { outbound: false }\n  registrar: {}\n  s:\n    script: static\n    listen: [udp:127.0.0.1:5090]\n    modules: { outbound:, path: {} }\n',
    );
    assert.equal(c.elements['edge']?.modules.outbound, undefined);
    assert.equal(c.elements['edge']?.modules.path, false);
    assert.equal(c.elements['s']?.modules.outbound?.direction_match, 'ip-port');
    assert.equal(c.elements['s']?.modules.path, true);
  });

  test('flags accept Kamailio spellings', () => {
    const c = parse(
      'elements:\n  edge:\n    force_rport: "yes"\n    modules: { rr: { append_fromtag: 1 }, sanity: { autodrop: off } }\n  registrar: {}\n',
    );
    assert.equal(c.elements['edge']?.force_rport, true);
    assert.equal(c.elements['edge']?.modules.rr.append_fromtag, true);
    assert.equal(c.elements['edge']?.modules.sanity.autodrop, false);
  });
});

describe('config: ${NAME} and ${NAME:-default} read the environment', () => {
  const SECRET = 's3cret-0123456789abcdef0123456789abcdef';
  const env = { FG_SECRET: SECRET, FG_FR: '15000', FG_EMPTY: '', FG_HOST: '127.0.0.9' };
  const withEnv = (text: string): Config => parseConfig(text, 'flowgate.yaml', { cwd: DIR, env });
  const envErrors = (text: string): string[] => {
    try {
      withEnv(text);
    } catch (e) {
      assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
      return e.issues.map(formatIssue);
    }
    assert.fail('expected the configuration to be rejected');
  };

  test('a secret, numbers in plain scalars, defaults, text around a reference, $${ literal', () => {
    const c = withEnv(
      [
        'elements:',
        '  edge:',
        '    listen:',
        '      - udp:${FG_HOST}:${FG_PORT:-5099}',
        '    force_rport: ${FG_RPORT:-off}',
        '    modules:',
        '      outbound: { flow_token_secret: "${FG_SECRET}-$${literal}-$5" }',
        '      tm:',
        '        fr_timer: ${FG_FR}',
        '        fr_inv_timer: ${FG_EMPTY:-90000}',
        '  registrar: {}',
        '',
      ].join('\n'),
    );
    const edge = c.elements['edge'];
    assert.equal(edge?.modules.outbound?.flow_token_secret, `${SECRET}-\${literal}-$5`);
    assert.equal(edge?.modules.tm.fr_timer, 15000);
    assert.equal(edge?.modules.tm.fr_inv_timer, 90000);
    assert.equal(edge?.force_rport, false);
    assert.deepEqual(
      edge?.listen.map((l) => [l.proto, l.address, l.port]),
      [['udp', '127.0.0.9', 5099]],
    );
  });

  test('a quoted reference stays a string: the schema says what it expected, naming the reference', () => {
    assert.deepEqual(
      envErrors('elements:\n  edge:\n    modules: { tm: { fr_timer: "${FG_FR}" } }\n'),
      [
        'flowgate.yaml:3:32: elements.edge.modules.tm.fr_timer: expected a positive integer (milliseconds), got a string from ${FG_FR}',
      ],
    );
  });

  test('an unquoted reference is a YAML scalar: ${X:-null} is null (unset), numbers, booleans', () => {
    const c = parseConfig(
      [
        'management:',
        '  token: ${FG_TOKEN:-null}',
        'elements:',
        '  edge:',
        '    server_header: ${FG_HDR:-~}',
        '    force_rport: ${FG_RPORT}',
        '    modules:',
        '      outbound:',
        '        flow_token_secret: ${FG_SECRET:-null}',
        '        flow_token_secret_previous: ${FG_PREV}',
        '      limits:',
        '        max_headers: ${FG_HEADERS}',
        '  registrar: {}',
        '',
      ].join('\n'),
      'flowgate.yaml',
      {
        cwd: DIR,
        env: { FG_RPORT: 'false', FG_PREV: 'NULL', FG_HEADERS: '0x40' },
      },
    ).elements['edge'];
    // before issue 10 §7 this was the secret "null"
    assert.equal(c?.modules.outbound?.flow_token_secret, undefined);
    assert.equal(c?.modules.outbound?.flow_token_secret_previous, undefined);
    assert.equal(c?.server_header, undefined);
    assert.equal(c?.force_rport, false);
    assert.equal(c?.modules.limits.max_headers, 64);
  });

  test('a value that is not a YAML null, boolean or number stays the text as substituted', () => {
    const secret = '"quoted" # not a comment 0123456789abcdef';
    const c = parseConfig(
      'elements:\n  edge:\n    modules:\n      outbound:\n        flow_token_secret: ${FG_S}\n  registrar: {}\n',
      'flowgate.yaml',
      { cwd: DIR, env: { FG_S: secret } },
    );
    assert.equal(c.elements['edge']?.modules.outbound?.flow_token_secret, secret);
    // an empty variable stays an empty string (a mistake, not "unset")
    assert.deepEqual(
      envErrors('elements:\n  edge:\n    server_header: ${FG_EMPTY}\n  registrar: {}\n'),
      [
        'flowgate.yaml:3:20: elements.edge.server_header: expected a header value, got an empty string (value from ${FG_EMPTY})',
      ],
    );
  });

  test('a secret from the environment: errors name the variable, never the value (issue 10 §7)', () => {
    const errs = (text: string, e: Record<string, string>): string[] => {
      try {
        parseConfig(text, 'flowgate.yaml', { cwd: DIR, env: e });
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.issues.map(formatIssue);
      }
      assert.fail('expected the configuration to be rejected');
    };
    const secretAt = (ref: string): string =>
      `elements:\n  edge:\n    modules:\n      outbound:\n        flow_token_secret: ${ref}\n  registrar: {}\n`;
    // too short
    const short = errs(secretAt('${FLOWGATE_SECRET}'), { FLOWGATE_SECRET: 'hunter2-hunter2' });
    assert.deepEqual(short, [
      'flowgate.yaml:5:28: elements.edge.modules.outbound.flow_token_secret: expected a secret of at least 32 characters (e.g. openssl rand -hex 32), got a string of 15 characters from ${FLOWGATE_SECRET}',
    ]);
    // "null" in quotes is a string, and too short
    assert.deepEqual(errs(secretAt('"${FLOWGATE_SECRET:-null}"'), {}), [
      'flowgate.yaml:5:28: elements.edge.modules.outbound.flow_token_secret: expected a secret of at least 32 characters (e.g. openssl rand -hex 32), got a string of 4 characters from ${FLOWGATE_SECRET:-null}',
    ]);
    // digits only: YAML reads a number; the fix is to quote the reference
    const digits = '1234567890'.repeat(4);
    const num = errs(secretAt('${FLOWGATE_SECRET}'), { FLOWGATE_SECRET: digits });
    assert.deepEqual(num, [
      'flowgate.yaml:5:28: elements.edge.modules.outbound.flow_token_secret: expected a secret of at least 32 characters (e.g. openssl rand -hex 32), got a number from ${FLOWGATE_SECRET}; quote it ("${FLOWGATE_SECRET}") to keep the text as a string',
    ]);
    assert.equal(
      parseConfig(secretAt('"${FLOWGATE_SECRET}"'), 'flowgate.yaml', {
        cwd: DIR,
        env: { FLOWGATE_SECRET: digits },
      }).elements['edge']?.modules.outbound?.flow_token_secret,
      digits,
    );
    // a management token from the environment
    assert.deepEqual(errs('management: { token: "x-${FG_TOKEN}" }\n', { FG_TOKEN: 's3cr3t' }), [
      'flowgate.yaml:1:22: management.token: expected a token of at least 16 characters (e.g. openssl rand -hex 16), got a string of 8 characters from x-${FG_TOKEN}',
    ]);
  });

  test('build and custom messages do not echo environment values either', () => {
    const errs = (text: string, e: Record<string, string>): string[] => {
      try {
        parseConfig(text, 'flowgate.yaml', { cwd: DIR, env: e });
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.issues.map(formatIssue);
      }
      assert.fail('expected the configuration to be rejected');
    };
    // a URL with a password (build.ts: got "<url>")
    const url = 'http://:pa55w0rd-pa55w0rd@10.0.0.7:6379';
    assert.deepEqual(
      errs(
        'elements:\n  registrar:\n    modules:\n      usrloc: { backend: redis, url: "${FG_REDIS}" }\n',
        {
          FG_REDIS: url,
        },
      ),
      [
        'flowgate.yaml:4:38: elements.registrar.modules.usrloc.url: expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL, got "${FG_REDIS}"',
      ],
    );
    // custom schema messages (listen strings): the whole value and a short part of it
    assert.deepEqual(
      errs(
        'elements:\n  edge:\n    listen:\n      - udp:${FG_ADDR}:${FG_PORT}\n  registrar: {}\n',
        {
          FG_ADDR: '127.0.0.1',
          FG_PORT: 'x9',
        },
      ),
      [
        "flowgate.yaml:4:9: elements.edge.listen[0]: bad port '${FG_PORT}' (expected 0..65535) (expected proto:address:port, e.g. udp:127.0.0.1:5060 or tcp:[::1]:5060)",
      ],
    );
    // a piece of the value quoted by a parser is named, not shown
    assert.deepEqual(
      errs('elements:\n  edge:\n    listen: ${FG_LISTEN}\n  registrar: {}\n', {
        FG_LISTEN: 'xyz:127.0.0.1:5060',
      }),
      [
        "flowgate.yaml:3:13: elements.edge.listen: unknown transport '(part of ${FG_LISTEN})' (expected one of udp, tcp, tls, ws, wss) in '${FG_LISTEN}'",
      ],
    );
    // a build message that prints the whole value
    const mgmt = errs('management:\n  listen: ${FG_MGMT}\n', { FG_MGMT: '0.0.0.0:8081' });
    assert.equal(mgmt.length, 1);
    assert.match(
      mgmt[0] ?? '',
      /^flowgate\.yaml:2:11: management\.listen: \$\{FG_MGMT\} is not a loopback address/,
    );
    assert.ok(!(mgmt[0] ?? '').includes('0.0.0.0'), mgmt[0]);
  });

  test('an unset variable and a malformed reference name file, line, column and the fix', () => {
    assert.deepEqual(
      envErrors(
        'elements:\n  edge:\n    modules:\n      outbound:\n        flow_token_secret: ${FG_NOPE}\n      tm:\n        fr_timer: ${FG FR}\n',
      ),
      [
        'flowgate.yaml:5:28: elements.edge.modules.outbound.flow_token_secret: environment variable FG_NOPE is not set: set it, or give a default with ${FG_NOPE:-value}',
        "flowgate.yaml:7:19: elements.edge.modules.tm.fr_timer: malformed environment reference '${FG FR}': write ${NAME} or ${NAME:-default} (NAME: letters, digits, _), or $${ for a literal ${",
      ],
    );
    assert.deepEqual(envErrors('elements:\n  edge:\n    server_header: "x ${FG_HOST"\n'), [
      "flowgate.yaml:3:20: elements.edge.server_header: malformed environment reference '${FG_HOST': write ${NAME} or ${NAME:-default} (NAME: letters, digits, _), or $${ for a literal ${",
    ]);
  });

  test('keys are never expanded; a $ without { stays as written', () => {
    assert.deepEqual(envErrors('elements:\n  ${FG_HOST}:\n    listen: [udp:127.0.0.1:5090]\n'), [
      "flowgate.yaml:2:3: elements.${FG_HOST}: bad name '${FG_HOST}': element names are letters, digits, - and _ (starting with a letter, at most 32)",
    ]);
    const c = withEnv('elements:\n  edge:\n    server_header: a$b $\n  registrar: {}\n');
    assert.equal(c.elements['edge']?.server_header, 'a$b $');
  });
});
