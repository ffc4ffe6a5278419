// Issue 11: every kind of mistake in a Kamailio configuration is reported at its file:line:col with
// a hint (the nearest known name, or what to write instead), before anything runs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadCfgConfig } from '../../../../src/config/cfg.js';
import { ConfigError } from '../../../../src/config/errors.js';
import { firstProblem, MODULES, problems } from './helpers.js';

const route = (body: string, extra = ''): string =>
  `${MODULES}\n${extra}request_route {\n${body}\n}\n`;
/** Line numbers of `route()`'s body: MODULES takes 9 lines. */
const BODY = 11;

describe('.cfg errors: syntax', () => {
  test("a missing ';' is reported where it is missing", () => {
    assert.equal(
      firstProblem(route('  sl_send_reply("404", "Not Found")\n  exit;')),
      `t.cfg:${BODY}:36: syntax error: expected ';' after sl_send_reply(…), got 'exit'`,
    );
  });

  test('an unclosed block names its opening brace', () => {
    assert.equal(
      firstProblem(`${MODULES}\nrequest_route {\n  if (is_method("INVITE")) {\n    exit;\n}\n`),
      "t.cfg:10:15: '{' is never closed: expected '}' before the end of the file",
    );
  });

  test('an unterminated string, an unknown character', () => {
    assert.equal(
      firstProblem(route('  xlog("L_ERR", "oops);')),
      `t.cfg:${BODY}:17: unterminated string (no closing quote)`,
    );
    assert.equal(firstProblem(route('  exit; `')), `t.cfg:${BODY}:9: unexpected character '\`'`);
  });

  test('else without if', () => {
    assert.match(
      firstProblem(route('  if (is_method("A")) { exit; };\n  else { exit; }')),
      new RegExp(`^t\\.cfg:${BODY + 1}:3: syntax error: 'else' without 'if'`),
    );
  });
});

describe('.cfg errors: unknown module, function, parameter, global', () => {
  test('an unknown module, with the nearest name', () => {
    assert.equal(
      firstProblem('loadmodule "tmm.so"\nrequest_route { exit; }\n'),
      "t.cfg:1:12: unknown module 'tmm' (did you mean 'tm'?)",
    );
  });

  test('a Kamailio module flowgate does not have is named as such', () => {
    assert.match(
      firstProblem('loadmodule "dispatcher.so"\nrequest_route { exit; }\n'),
      /^t\.cfg:1:12: Kamailio module 'dispatcher' is not available in flowgate \(flowgate has: tm, sl, /,
    );
  });

  test('an unknown function, with the nearest name', () => {
    assert.equal(
      firstProblem(route('  t_relya();')),
      `t.cfg:${BODY}:3: unknown function 't_relya' (did you mean 't_relay'?)`,
    );
  });

  test('a function of a module the file does not load; a Kamailio function flowgate does not have', () => {
    assert.equal(
      firstProblem(route('  save("location");')),
      `t.cfg:${BODY}:3: save() is in module registrar, which this file does not load: add loadmodule "registrar.so"`,
    );
    assert.equal(
      firstProblem(route('  forward();')),
      `t.cfg:${BODY}:3: forward() is not supported by flowgate: stateless forwarding is not supported: use t_relay()`,
    );
  });

  test('an unknown module parameter, with the nearest name and the list', () => {
    assert.match(
      firstProblem(`${MODULES}\nmodparam("tm", "fr_timeout", 5000)\nrequest_route { exit; }\n`),
      /^t\.cfg:10:16: unknown parameter 'fr_timeout' of module tm \(did you mean 'fr_timer'\?\); flowgate's tm has: failure_reply_mode, /,
    );
  });

  test('a modparam of a module that is not loaded', () => {
    assert.equal(
      firstProblem(`${MODULES}\nmodparam("registrar", "use_path", 1)\nrequest_route { exit; }\n`),
      't.cfg:10:10: modparam for module \'registrar\', which is not loaded: add loadmodule "registrar.so" before it',
    );
  });

  test('an unknown global parameter, with the nearest name', () => {
    assert.equal(
      firstProblem('forcerport=yes\nrequest_route { exit; }\n'),
      "t.cfg:1:1: unknown global parameter 'forcerport' (did you mean 'force_rport'?)",
    );
  });

  test('an unknown pseudo-variable, in code and in a format string', () => {
    assert.equal(
      firstProblem(route('  if ($rmm == "a") { exit; }')),
      `t.cfg:${BODY}:7: unknown pseudo-variable $rmm (did you mean '$rm'?)`,
    );
    assert.equal(
      firstProblem(route('  xlog("L_INFO", "from $sii\\n");')),
      `t.cfg:${BODY}:24: unknown pseudo-variable $sii (did you mean '$si'?)`,
    );
  });

  test('a route that does not exist; a failure_route that does not exist', () => {
    assert.equal(
      firstProblem(route('  route(RELAI);', 'route[RELAY] { t_relay(); }\n')),
      `t.cfg:${BODY + 1}:3: route(RELAI): there is no route[RELAI] (did you mean 'RELAY'?)`,
    );
    assert.equal(
      firstProblem(route('  t_on_failure("MISSNG");', 'failure_route[MISSING] { exit; }\n')),
      `t.cfg:${BODY + 1}:16: t_on_failure("MISSNG"): there is no failure_route[MISSNG] (did you mean "MISSING"?)`,
    );
  });

  test('an unknown xlog level', () => {
    assert.match(
      firstProblem(route('  xlog("L_EROR", "x\\n");')),
      new RegExp(
        `^t\\.cfg:${BODY}:8: xlog\\(\\): unknown log level "L_EROR" \\(did you mean "L_ERR"\\?\\)`,
      ),
    );
  });
});

describe('.cfg errors: wrong argument count', () => {
  test('too few and too many arguments', () => {
    assert.equal(
      firstProblem(route('  sl_send_reply("404");')),
      `t.cfg:${BODY}:3: wrong number of arguments: sl_send_reply() takes 2 arguments, got 1`,
    );
    assert.equal(
      firstProblem(route('  t_relay("udp:1.2.3.4:5060");')),
      `t.cfg:${BODY}:3: wrong number of arguments: t_relay() takes 0 arguments, got 1`,
    );
    assert.equal(
      firstProblem(route('  sanity_check("1", "2", "3");')),
      `t.cfg:${BODY}:3: wrong number of arguments: sanity_check() takes 0 to 2 arguments, got 3`,
    );
  });

  test('an argument that must be a number', () => {
    assert.equal(
      firstProblem(route('  mf_process_maxfwd_header("ten");')),
      `t.cfg:${BODY}:28: mf_process_maxfwd_header(): argument 1 must be a number, got "ten"`,
    );
  });
});

describe('.cfg errors: unsupported features', () => {
  test('branch_route, a named onreply_route, an unknown event_route', () => {
    assert.match(
      firstProblem(route('  exit;', 'branch_route[B] { exit; }\n')),
      /^t\.cfg:10:1: branch_route\[B\] is not supported by flowgate \(its proxy core runs no route per branch/,
    );
    assert.match(
      firstProblem(route('  exit;', 'onreply_route[R] { exit; }\n')),
      /^t\.cfg:10:15: onreply_route\[R\] \(a named reply route, armed by t_on_reply\) is not supported/,
    );
    assert.match(
      firstProblem(route('  exit;', 'event_route[htable:mod-init] { exit; }\n')),
      /^t\.cfg:10:13: event_route\[htable:mod-init\] is not supported by flowgate \(supported: tm:branch-failure:NAME, xhttp:request, websocket:closed\)/,
    );
  });

  test('transformations, selects other than @via, assigning $rU, #!ifexp, cfgengine', () => {
    assert.equal(
      firstProblem(route('  if ($(ru{uri.user}) == "a") { exit; }')),
      `t.cfg:${BODY}:7: transformations ({uri.user} in $(ru{uri.user})) are not supported by flowgate`,
    );
    assert.match(
      firstProblem(route('  if (@from.uri == "a") { exit; }')),
      new RegExp(`^t\\.cfg:${BODY}:7: the select @from\\.uri is not supported by flowgate`),
    );
    assert.equal(
      firstProblem(route('  $rU = "bob";')),
      `t.cfg:${BODY}:3: $rU cannot be assigned in flowgate (assign the whole $ru)`,
    );
    assert.equal(
      firstProblem('#!ifexp KAMAILIO_VERSION >= 050600\n#!endif\nrequest_route { exit; }\n'),
      't.cfg:1:1: #!ifexp is not supported by flowgate: use #!ifdef / #!ifndef',
    );
    assert.match(
      firstProblem('cfgengine "lua"\nrequest_route { exit; }\n'),
      /^t\.cfg:2:11|^t\.cfg:1:11: cfgengine "lua" is not supported/,
    );
  });
});

describe('.cfg errors: preprocessor', () => {
  test('an undefined #!subst name left in a URI or a header', () => {
    const cfg = `#!subst "/REGISTRAR_IP/127.0.0.2/"\n${MODULES}\nrequest_route {\n  $du = "sip:REGISTRAR_IP:REGISTRAR_PORT";\n  t_relay();\n}\n`;
    assert.equal(
      firstProblem(cfg),
      't.cfg:12:9: "sip:127.0.0.2:REGISTRAR_PORT": REGISTRAR_PORT looks like a #!subst name, but no #!subst or #!substdef replaces it; defined: REGISTRAR_IP',
    );
    assert.equal(
      firstProblem(route('  insert_hf("Flow-Timer: FLOW_TIMER\\r\\n", "Call-ID");')),
      `t.cfg:${BODY}:13: "Flow-Timer: FLOW_TIMER\\r\\n": FLOW_TIMER looks like a #!subst name, but no #!subst or #!substdef replaces it`,
    );
  });

  test('an undefined name used as a value', () => {
    assert.equal(
      firstProblem(`#!define FLT_NAT 5\n${MODULES}\nrequest_route {\n  setflag(FLT_NATT);\n}\n`),
      "t.cfg:12:11: 'FLT_NATT' is not defined: no #!define, #!substdef or -A defines it (did you mean 'FLT_NAT'?)",
    );
  });

  test('unbalanced #!ifdef / #!endif / #!else, an unknown directive, a bad #!subst', () => {
    assert.equal(
      firstProblem('#!ifdef WITH_X\nrequest_route { exit; }\n'),
      't.cfg:1:1: #!ifdef / #!ifndef without #!endif (t.cfg ends first)',
    );
    assert.equal(
      firstProblem('#!endif\nrequest_route { exit; }\n'),
      't.cfg:1:1: #!endif without #!ifdef',
    );
    assert.equal(
      firstProblem('#!ifdefine X\nrequest_route { exit; }\n'),
      't.cfg:1:1: unknown preprocessor directive #!ifdefine (did you mean #!define?)',
    );
    assert.equal(
      firstProblem('#!subst "/A/B"\nrequest_route { exit; }\n'),
      `t.cfg:1:9: #!subst: expected "/REGEX/REPLACEMENT/FLAGS", got '"/A/B"'`,
    );
    assert.equal(
      firstProblem('#!define X 1\n#!define X 2\nrequest_route { exit; }\n'),
      't.cfg:2:10: #!define X: already defined (use #!redefine or #!trydef)',
    );
  });

  test('a missing include_file (import_file may be missing); errors inside an include name that file', () => {
    assert.match(
      firstProblem('include_file "missing.cfg"\nrequest_route { exit; }\n'),
      /^t\.cfg:1:14: include_file: no such file missing\.cfg \(looked in \/cfg\/missing\.cfg, /,
    );
    assert.deepEqual(
      problems('import_file "missing.cfg"\nrequest_route { t_relya(); }\n').map(
        (p) => `${p.file}:${p.line}`,
      ),
      ['t.cfg:2'],
    );
    assert.equal(
      firstProblem('include_file "routes.cfg"\n', {
        files: { '/cfg/routes.cfg': 'request_route {\n  t_relya();\n}\n' },
      }),
      "routes.cfg:2:3: unknown function 't_relya' (did you mean 't_relay'?)",
    );
  });

  test('#!defenv of an unset variable', () => {
    assert.match(
      firstProblem('#!defenv REG=FLOWGATE_TEST_REGISTRAR\nrequest_route { exit; }\n'),
      /^t\.cfg:1:10: #!defenv: the environment variable FLOWGATE_TEST_REGISTRAR is not set/,
    );
  });
});

describe('.cfg errors: every problem at once, and values checked like YAML values', () => {
  test('several mistakes in one file are all reported, in file order', () => {
    const p = problems(
      `${MODULES}\nloadmodule "tmm.so"\nmodparam("rr", "append_fromtagg", 0)\nrequest_route {\n  t_relya();\n  sl_send_reply("1");\n}\n`,
    ).map((i) => `${i.line}:${i.col}`);
    assert.deepEqual(p, ['10:12', '11:16', '13:3', '14:3']);
  });

  test('a modparam value of the wrong kind: file:line:col of the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-cfg-err-'));
    try {
      const f = join(dir, 'x.cfg');
      writeFileSync(
        f,
        `${MODULES}\nmodparam("tm", "fr_timer", -5)\nlisten=udp:127.0.0.1:99999\nrequest_route { exit; }\n`,
      );
      assert.throws(
        () => loadCfgConfig(f),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.deepEqual(
            e.issues.map((i) => `${i.line}:${i.col}: ${i.message}`),
            [
              '10:28: modparam("tm", "fr_timer", -5): expected a positive integer (milliseconds)',
              "11:8: listen=udp:127.0.0.1:99999: bad port '99999' (expected 0..65535)",
            ],
          );
          assert.ok(e.issues.every((i) => i.file.endsWith('x.cfg')));
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
