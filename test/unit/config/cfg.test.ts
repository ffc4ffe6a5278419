// Issue 11: a Kamailio .cfg as a flowgate configuration. `flowgate start -c x.cfg`: one element
// named after the file, its listeners, aliases and module parameters from the file, data beside the
// file, the management API only where the ctl module puts it on TCP. `script: ./x.cfg` in YAML:
// the .cfg's routes inside a YAML element, its settings merged in, a conflict an error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { elementNameOf, loadCfgConfig } from '../../../src/config/cfg.js';
import { ConfigError } from '../../../src/config/errors.js';
import { loadConfig, parseConfig } from '../../../src/config/load.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fg-cfg-conf-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const REGISTRAR = `#!KAMAILIO
debug=3
children=4
alias="example.com"
alias=udp:other.example:5070
listen=udp:127.0.0.1:5070
listen=tcp:127.0.0.1:5070 advertise 192.0.2.1:5070
tcp_connection_lifetime=40
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "ctl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("tm", "fr_timer", 10000)
modparam("rr", "append_fromtag", 0)
modparam("registrar", "use_path", 1)
modparam("registrar", "outbound_mode", 1)
modparam("ctl", "binrpc", "tcp:127.0.0.1:2049")
request_route {
  if (!save("location")) sl_reply_error();
}
`;

describe('flowgate start -c x.cfg: the element a .cfg describes', () => {
  test('name, listeners, aliases, globals, modparams, log level, data directory, management API', () => {
    const c = loadCfgConfig(file('registrar.cfg', REGISTRAR));
    assert.deepEqual(Object.keys(c.elements), ['registrar']);
    const el = c.elements['registrar'];
    assert.ok(el !== undefined);
    assert.equal(el.script.kind, 'file');
    assert.ok(el.script.kind === 'file' && el.script.compiled !== undefined, 'compiled at load');
    assert.deepEqual(
      el.listen.map(
        (l) =>
          `${l.proto}:${l.address}:${l.port}${l.advertise ? ` ${l.advertise.host}:${l.advertise.port}` : ''}`,
      ),
      ['udp:127.0.0.1:5070', 'tcp:127.0.0.1:5070 192.0.2.1:5070'],
    );
    assert.deepEqual(el.alias, ['example.com', 'other.example']);
    assert.equal(el.tcp_connection_lifetime, 40);
    assert.equal(el.children, 4);
    assert.equal(el.modules.tm.fr_timer, 10_000);
    assert.equal(el.modules.rr.append_fromtag, false);
    assert.equal(el.modules.registrar?.use_path, true);
    assert.equal(el.modules.registrar?.outbound_mode, 1);
    // usrloc db_mode 0 (Kamailio's default): bindings in memory
    assert.equal(el.modules.usrloc?.backend, 'memory');
    assert.equal(el.modules.outbound, undefined, 'outbound not loaded');
    assert.equal(el.modules.path, false, 'path not loaded');
    assert.equal(c.log.level, 'debug', 'debug=3');
    assert.equal(c.data_dir, join(dir, 'registrar.data'));
    assert.deepEqual(c.management.listen, { host: '127.0.0.1', port: 2049 });
    // where a value came from, for problems found later (flowgate check)
    const w = c.where(['elements', 'registrar', 'listen', 1]);
    assert.equal(`${w.line}:${w.col}`, '7:8');
  });

  test('no ctl, or ctl on a unix socket (Kamailio default): no management API; runtime_dir is the data directory', () => {
    const noCtl = loadCfgConfig(
      file('a.cfg', 'loadmodule "sl.so"\nrequest_route { sl_send_reply("404", "x"); }\n'),
    );
    assert.equal(noCtl.management.listen, undefined);
    const unix = loadCfgConfig(
      file(
        'b.cfg',
        'runtime_dir="/tmp/fg-b-run"\nloadmodule "ctl.so"\nloadmodule "sl.so"\nmodparam("ctl", "binrpc", "unix:/run/kamailio/kamailio_ctl")\nrequest_route { sl_send_reply("404", "x"); }\n',
      ),
    );
    assert.equal(unix.management.listen, undefined);
    assert.equal(unix.data_dir, '/tmp/fg-b-run');
    const el = unix.elements['b'];
    assert.ok(el?.script.kind === 'file');
    assert.match(
      (el.script.notes ?? []).join('\n'),
      /cannot serve binrpc on a unix socket; the management API is off/,
    );
  });

  test('no listen=: 127.0.0.1 on port= (default 5060), UDP and TCP, with a note; -l replaces listen=', () => {
    const c = loadCfgConfig(
      file('c.cfg', 'port=5090\nloadmodule "sl.so"\nrequest_route { exit; }\n'),
    );
    assert.deepEqual(
      c.elements['c']?.listen.map((l) => `${l.proto}:${l.address}:${l.port}`),
      ['udp:127.0.0.1:5090', 'tcp:127.0.0.1:5090'],
    );
    const l = loadCfgConfig(join(dir, 'registrar.cfg'), {
      listen: ['udp:127.0.0.1:6000', '127.0.0.1:6001'],
    });
    assert.deepEqual(
      l.elements['registrar']?.listen.map((x) => `${x.proto}:${x.address}:${x.port}`),
      ['udp:127.0.0.1:6000', 'udp:127.0.0.1:6001', 'tcp:127.0.0.1:6001'],
    );
  });

  test('a public listener without authentication is refused, with the .cfg way out', () => {
    assert.throws(
      () =>
        loadCfgConfig(
          file('pub.cfg', 'listen=udp:0.0.0.0:5060\nloadmodule "sl.so"\nrequest_route { exit; }\n'),
        ),
      (e: unknown) =>
        e instanceof ConfigError &&
        /^pub\.cfg:1:8: listen=udp:0\.0\.0\.0:5060: udp:0\.0\.0\.0:5060 is not a loopback address and nothing authenticates the users of pub: load auth .*allow_unauthenticated=yes inside #!ifdef FLOWGATE … #!endif$/.test(
          e.message.replace(`${dir}/`, ''),
        ),
    );
    const ok = loadCfgConfig(
      file(
        'pub2.cfg',
        'listen=udp:0.0.0.0:5060\n#!ifdef FLOWGATE\nallow_unauthenticated=yes\n#!endif\nloadmodule "sl.so"\nrequest_route { exit; }\n',
      ),
    );
    assert.equal(ok.elements['pub2']?.allow_unauthenticated, true);
  });

  test('tls module files, enable_tls (listen without a protocol), usrloc db_mode with an SQLite db_url', () => {
    const c = loadCfgConfig(
      file(
        'tls.cfg',
        `enable_tls=yes
port=5080
listen=127.0.0.1
loadmodule "tls.so"
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("tls", "certificate", "certs/server.pem")
modparam("tls", "private_key", "/etc/keys/server.key")
modparam("usrloc", "db_mode", 2)
modparam("usrloc", "db_url", "sqlite:///var/lib/flowgate/location.db")
request_route { if (!save("location")) sl_reply_error(); }
`,
      ),
    );
    const el = c.elements['tls'];
    assert.deepEqual(
      el?.listen.map((l) => `${l.proto}:${l.address}:${l.port}`),
      ['udp:127.0.0.1:5080', 'tcp:127.0.0.1:5080', 'tls:127.0.0.1:5061'],
    );
    assert.deepEqual(el?.tls, {
      cert: join(dir, 'certs', 'server.pem'),
      key: '/etc/keys/server.key',
      ca: undefined,
    });
    assert.deepEqual(el?.modules.usrloc, {
      backend: 'sqlite',
      path: '/var/lib/flowgate/location.db',
      synchronous: 'NORMAL',
      timer_interval: 60,
      use_domain: false,
      cseq_delay: 20,
    });
    assert.throws(
      () =>
        loadCfgConfig(
          file(
            'mysql.cfg',
            'loadmodule "sl.so"\nloadmodule "usrloc.so"\nloadmodule "registrar.so"\nmodparam("usrloc", "db_mode", 2)\nmodparam("usrloc", "db_url", "mysql://k:pw@db/kamailio")\nrequest_route { if (!save("location")) sl_reply_error(); }\n',
          ),
        ),
      /mysql\.cfg:5:30: modparam\("usrloc", "db_url", "mysql:\/\/k:pw@db\/kamailio"\): flowgate's location store is sqlite:\/\/\/path or redis:\/\/host \(mysql is not supported\)/,
    );
  });

  test('element names come from the file name', () => {
    assert.equal(elementNameOf('/etc/kamailio/kamailio.cfg'), 'kamailio');
    assert.equal(elementNameOf('edge.local.cfg'), 'edge_local');
    assert.equal(elementNameOf('5060.cfg'), 'cfg-5060');
  });

  test('loadConfig picks the .cfg reader by the file name', () => {
    assert.deepEqual(Object.keys(loadConfig(join(dir, 'registrar.cfg')).elements), ['registrar']);
  });
});

describe('script: ./x.cfg in flowgate.yaml', () => {
  const yaml = (el: string): string =>
    `data_dir: ./data\nmanagement: { listen: false }\nelements:\n  reg:\n    script: ./registrar.cfg\n${el}`;

  test("the .cfg's routes run in the YAML element; the settings the YAML does not give come from the .cfg", () => {
    file('registrar.cfg', REGISTRAR);
    const c = parseConfig(
      yaml('    modules: { registrar: { max_contacts: 5 } }\n'),
      join(dir, 'flowgate.yaml'),
    );
    const el = c.elements['reg'];
    assert.ok(el?.script.kind === 'file' && el.script.compiled !== undefined);
    assert.equal(el.listen.length, 2, 'listen= of the .cfg');
    assert.equal(el.modules.registrar?.use_path, true, 'modparam of the .cfg');
    assert.equal(el.modules.registrar?.max_contacts, 5, 'the YAML');
    assert.equal(c.log.level, 'info', "debug=3 of the .cfg is not read: the YAML's log applies");
    assert.equal(c.management.listen, undefined, "the .cfg's ctl socket is not read");
    assert.match(
      (el.script.notes ?? []).join('\n'),
      /debug=3 is not read: log\.level of \S*flowgate\.yaml applies/,
    );
  });

  test("the YAML's location store and a module's parameters combine with what the .cfg loads", () => {
    file(
      'ob.cfg',
      'loadmodule "sl.so"\nloadmodule "outbound.so"\nloadmodule "path.so"\nrequest_route { exit; }\n',
    );
    const c = parseConfig(
      `management: { listen: false }\nelements:\n  reg:\n    script: ./registrar.cfg\n    modules: { usrloc: { backend: sqlite } }\n  ob:\n    script: ./ob.cfg\n    listen: [udp:127.0.0.1:7070]\n    modules: { outbound: { force_outbound_flag: 3 } }\n`,
      join(dir, 'flowgate.yaml'),
    );
    assert.equal(c.elements['reg']?.modules.usrloc?.backend, 'sqlite');
    assert.equal(c.elements['ob']?.modules.outbound?.force_outbound_flag, 3);
    assert.equal(c.elements['ob']?.modules.path, true);
  });

  test('a setting both give differently is an error at the .cfg line, naming the YAML key', () => {
    assert.throws(
      () =>
        parseConfig(
          yaml(
            '    listen: [udp:127.0.0.1:7000]\n    modules: { registrar: { use_path: false } }\n',
          ),
          join(dir, 'flowgate.yaml'),
        ),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(
          e.issues.map(
            (i) =>
              `${i.file.replace(`${dir}/`, '')}:${i.line}:${i.col}: ${i.message.replace(`${dir}/`, '')}`,
          ),
          [
            "registrar.cfg:6:8: listen=udp:127.0.0.1:5070 conflicts with elements.reg.listen in flowgate.yaml: in a YAML configuration the YAML's value applies; remove one of them or make them equal",
            'registrar.cfg:17:35: modparam("registrar", "use_path", 1) conflicts with elements.reg.modules.registrar.use_path in flowgate.yaml: in a YAML configuration the YAML\'s value applies; remove one of them or make them equal',
          ],
        );
        return true;
      },
    );
  });

  test('a module the .cfg needs and the YAML switches off; errors inside the .cfg at its own lines', () => {
    assert.throws(
      () => parseConfig(yaml('    modules: { registrar: false }\n'), join(dir, 'flowgate.yaml')),
      /registrar\.cfg:14:12: loadmodule "registrar\.so": the \.cfg loads registrar, but elements\.reg\.modules\.registrar is false in \S*flowgate\.yaml/,
    );
    file('bad.cfg', 'loadmodule "sl.so"\nrequest_route {\n  sl_send_reply("404");\n}\n');
    assert.throws(
      () =>
        parseConfig(
          'management: { listen: false }\nelements:\n  x:\n    script: bad.cfg\n',
          join(dir, 'flowgate.yaml'),
        ),
      /bad\.cfg:3:3: wrong number of arguments: sl_send_reply\(\) takes 2 arguments, got 1/,
    );
  });
});
