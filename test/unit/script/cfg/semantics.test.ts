// Issue 11: the configuration language as Kamailio runs it, compiled once into calls on the script
// context and run in-process over the harness. Numbers are the config-language items of the
// behavioural spec's conformance list (114–120): #!subst, a 0 return code stopping the script,
// $rc after if, switch fall-through, $rU == $null, @via[2], $(hdr(Require)[*]).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CapturingLogger } from '../../../support/logger.js';
import { compile, element, MODULES, request, statuses } from './helpers.js';

/** Runs `text` and returns the status lines it sent for one request. */
async function answer(
  text: string,
  req: string,
  opts: Parameters<typeof compile>[1] = {},
): Promise<string[]> {
  const h = element(compile(text, opts).script());
  try {
    h.inject(req, '127.0.0.1:40000');
    await h.settle();
    return statuses(h);
  } finally {
    await h.server.close();
  }
}

const cfg = (body: string, extra = ''): string =>
  `${MODULES}\n${extra}request_route {\n${body}\n}\n`;

describe('.cfg language: values and comparisons', () => {
  test('118: $rU == $null is true without a user part, false with one', async () => {
    const c = cfg(
      `  if ($rU == $null) { sl_send_reply("404", "null"); exit; }\n  sl_send_reply("200", "user $rU");`,
    );
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:example.com')), ['SIP/2.0 404 null']);
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:bob@example.com')), [
      'SIP/2.0 200 user bob',
    ]);
  });

  test('119: @via[2] == "" with one Via; a second Via value in the same header counts', async () => {
    const c = cfg(
      '  if (@via[2] == "") sl_send_reply("200", "one"); else sl_send_reply("200", "two: @via[2]");',
    );
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:a@example.com')), ['SIP/2.0 200 one']);
    const two = request('OPTIONS', 'sip:a@example.com', {
      via: 'SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bKv1;rport, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKv0',
    });
    assert.deepEqual(await answer(c, two), ['SIP/2.0 200 two: @via[2]']);
  });

  test('120: $(hdr(Require)[*]) =~ "outbound" joins every Require, case-insensitively; absent is ""', async () => {
    const c = cfg(
      '  if ($(hdr(Require)[*]) =~ "outbound") sl_send_reply("200", "ob"); else sl_send_reply("200", "no");',
    );
    const two = request('OPTIONS', 'sip:a@example.com', {
      headers: 'Require: foo\nRequire: OUTBOUND\n',
    });
    assert.deepEqual(await answer(c, two), ['SIP/2.0 200 ob']);
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:a@example.com')), ['SIP/2.0 200 no']);
  });

  test("== / != by type: integers, strings, undefined taking the other side's type; < > on integers", async () => {
    const c = cfg(`  $var(n) = $hdr(X-N);
  if ($var(n) == 7 && $hdr(X-S) == "seven" && $hdr(X-None) == "" && $rs == $null && $sp > 1024)
    sl_send_reply("200", "ok");
  else
    sl_send_reply("500", "no");`);
    const r = request('OPTIONS', 'sip:a@example.com', { headers: 'X-N: 7\nX-S: seven\n' });
    assert.deepEqual(await answer(c, r), ['SIP/2.0 200 ok']);
  });

  test('uri == myself (the alias), method == "…", + concatenates strings, arithmetic on integers', async () => {
    const c = cfg(`  $var(n) = 7 * 6 - 2 / 2 % 5;
  $var(s) = "sip:" + $rU + "@" + $rd;
  if (uri == myself && method == "OPTIONS") sl_send_reply("200", "$var(n) $var(s)");`);
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:bob@example.com')), [
      'SIP/2.0 200 41 sip:bob@example.com',
    ]);
  });

  test('$Ri $Rp $ua $rd $proto $retcode in replies; xlog formats with and without the context', async () => {
    const log = new CapturingLogger();
    const c = compile(
      cfg(`  is_method("OPTIONS");
  xlog("L_INFO", "from $si:$sp to $Ri:$Rp rc=$rc\\n");
  sl_send_reply("200", "$rd $Rp $Ri $proto $ua $retcode");`),
    );
    const h = element(c.script(), log);
    h.inject(
      request('OPTIONS', 'sip:a@example.com', { headers: 'User-Agent: TestUA/1\n' }),
      '127.0.0.1:40000',
    );
    await h.settle();
    assert.deepEqual(statuses(h), ['SIP/2.0 200 example.com 5060 127.0.0.1 udp TestUA/1 1']);
    assert.equal(log.matching(/^from /)[0]?.msg, 'from 127.0.0.1:40000 to 127.0.0.1:5060 rc=1');
    assert.equal(log.matching(/^from /)[0]?.level, 'info');
    await h.server.close();
  });

  test('$var keeps its value between messages (per process); $avp follows the request', async () => {
    const c = compile(
      cfg(
        `  $var(count) = $var(count) + 1;\n  $avp(a) = "x" + $var(count);\n  sl_send_reply("200", "$var(count) $avp(a)");`,
      ),
    );
    const h = element(c.script());
    h.inject(request('OPTIONS', 'sip:a@example.com'), '127.0.0.1:40000');
    h.inject(request('OPTIONS', 'sip:a@example.com'), '127.0.0.1:40000');
    await h.settle();
    assert.deepEqual(statuses(h), ['SIP/2.0 200 1 x1', 'SIP/2.0 200 2 x2']);
    await h.server.close();
  });
});

describe('.cfg language: statements and return codes', () => {
  test('117: switch with fall-through: case -1: case -3: share a body; no match and no default: nothing', async () => {
    const c = cfg(`  $var(x) = $hdr(X-Val);
  switch ($var(x)) {
    case -1:
    case -3:
      sl_send_reply("200", "one or three");
      exit;
    case -2:
      sl_send_reply("200", "two");
      exit;
  }
  $var(r) = "";
  switch ($var(x)) {
    case 1:
      $var(r) = "a";
    case 2:
      $var(r) = $var(r) + "b";
      break;
    default:
      $var(r) = "d";
  }
  sl_send_reply("200", "after: $var(r)");`);
    const with_ = (v: string) =>
      request('OPTIONS', 'sip:a@example.com', { headers: `X-Val: ${v}\n` });
    assert.deepEqual(await answer(c, with_('-3')), ['SIP/2.0 200 one or three']);
    assert.deepEqual(await answer(c, with_('-1')), ['SIP/2.0 200 one or three']);
    assert.deepEqual(await answer(c, with_('-2')), ['SIP/2.0 200 two']);
    assert.deepEqual(await answer(c, with_('1')), ['SIP/2.0 200 after: ab']);
    assert.deepEqual(await answer(c, with_('2')), ['SIP/2.0 200 after: b']);
    assert.deepEqual(await answer(c, with_('5')), ['SIP/2.0 200 after: d']);
  });

  test("116: $rc after if (!f()) holds f's code; an if does not change it", async () => {
    const c = cfg(`  if (!is_method("INVITE")) {
    if ($rc == -1) sl_send_reply("200", "rc kept: $rc");
    exit;
  }`);
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:a@example.com')), [
      'SIP/2.0 200 rc kept: -1',
    ]);
  });

  test('115: a function returning 0 inside if (!f()) stops the script: nothing after it runs', async () => {
    const c = cfg(`  if (!sanity_check("1511", "7")) {
    sl_send_reply("500", "not reached");
  }
  sl_send_reply("500", "not reached either");`);
    const bad = request('OPTIONS', 'sip:a@example.com').replace('CSeq: 1 OPTIONS', 'CSeq: 1 INFO');
    const s = await answer(c, bad);
    assert.equal(s.length, 1, s.join('\n'));
    assert.match(s[0] ?? '', /^SIP\/2\.0 400 /);
  });

  test('route return codes: return N sets $rc and if (route(X)); return 0 ends the script like exit', async () => {
    const c = cfg(
      `  if (route(CHECK)) sl_send_reply("200", "invite");
  else sl_send_reply("200", "not invite: $rc");
  route(STOP);
  sl_send_reply("500", "not reached");`,
      `route[CHECK] {\n  if (is_method("INVITE")) return 1;\n  return -7;\n}\nroute[STOP] {\n  return 0;\n}\n`,
    );
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:a@example.com')), [
      'SIP/2.0 200 not invite: -7',
    ]);
  });

  test('while with break; drop and exit end the script', async () => {
    const c = cfg(`  $var(i) = 0;
  $var(s) = "";
  while ($var(i) < 10) {
    $var(i) = $var(i) + 1;
    if ($var(i) == 4) break;
    $var(s) = $var(s) + $var(i);
  }
  sl_send_reply("200", "$var(s)");
  drop;
  sl_send_reply("500", "not reached");`);
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:a@example.com')), ['SIP/2.0 200 123']);
  });

  test('a while loop ends after max_while_loops iterations (Kamailio: default 100)', async () => {
    const loop =
      '  $var(i) = 0;\n  while (1) { $var(i) = $var(i) + 1; }\n  sl_send_reply("200", "$var(i)");';
    assert.deepEqual(await answer(cfg(loop), request('OPTIONS', 'sip:a@example.com')), [
      'SIP/2.0 200 100',
    ]);
    assert.deepEqual(
      await answer(`max_while_loops=7\n${cfg(loop)}`, request('OPTIONS', 'sip:a@example.com')),
      ['SIP/2.0 200 7'],
    );
  });

  test('$(hdr(Name)[N]) from 0, and [-1] the last', async () => {
    const c = cfg('  sl_send_reply("200", "$(hdr(X-A)[0]) $(hdr(X-A)[1]) $(hdr(X-A)[-1])");');
    const r = request('OPTIONS', 'sip:a@example.com', {
      headers: 'X-A: one\nX-A: two\nX-A: three\n',
    });
    assert.deepEqual(await answer(c, r), ['SIP/2.0 200 one two three']);
  });
});

describe('.cfg language: preprocessor', () => {
  test('114: #!subst replaces inside strings; #!substdef also defines the name; #!define values replace names', async () => {
    const c = `#!subst "/REGISTRAR_IP/192.0.2.7/"\n#!substdef "/FLOW_TIMER/20/"\n#!define REPLY 202\n${cfg(
      '  sl_send_reply(REPLY, "sip:REGISTRAR_IP ft=FLOW_TIMER");',
      '#!ifdef FLOW_TIMER\n#!define HAVE_FT\n#!endif\n',
    )}`;
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:a@example.com')), [
      'SIP/2.0 202 sip:192.0.2.7 ft=20',
    ]);
  });

  test('#!ifdef / #!ifndef / #!else with -A defines; FLOWGATE is defined; MOD_<name> after loadmodule', async () => {
    const c = cfg(`#!ifdef WITH_X
  sl_send_reply("200", "with x");
#!else
  sl_send_reply("200", "without x");
#!endif
#!ifndef FLOWGATE
  sl_send_reply("500", "not flowgate");
#!endif
#!ifdef MOD_textops
  exit;
#!endif
  sl_send_reply("500", "no MOD_textops");`);
    assert.deepEqual(await answer(c, request('OPTIONS', 'sip:a@example.com')), [
      'SIP/2.0 200 without x',
    ]);
    assert.deepEqual(
      await answer(c, request('OPTIONS', 'sip:a@example.com'), { defines: ['WITH_X'] }),
      ['SIP/2.0 200 with x'],
    );
  });

  test('#!defenv reads the environment; include_file inside a route body; comments of every kind', async () => {
    const c = `#!defenv CODE=FG_TEST_CODE\n${cfg('  include_file "body.cfg"')}`;
    const files = {
      '/cfg/body.cfg':
        '/* block\ncomment */ // line\n# line\n  sl_send_reply(CODE, "from the include");\n',
    };
    assert.deepEqual(
      await answer(c, request('OPTIONS', 'sip:a@example.com'), {
        files,
        env: { FG_TEST_CODE: '203' },
      }),
      ['SIP/2.0 203 from the include'],
    );
  });

  test('the seed\'s Example 1.2 first line "MAILIO" is read as #!KAMAILIO, with a note', () => {
    const c = compile(`MAILIO\n#\n${cfg('  exit;')}`);
    assert.match(
      c.notes.map((n) => `${n.pos.line}: ${n.message}`).join('\n'),
      /^1: a first line "MAILIO"/m,
    );
  });
});

describe('.cfg compilation: once, at load; async only where needed', () => {
  test('a configuration without I/O compiles to synchronous routes', () => {
    const js = compile(
      cfg('  route(A);', 'route[A] { if (is_method("INVITE")) t_relay(); }\n'),
    ).javascript();
    assert.doesNotMatch(js, /async|await/);
  });

  test('a route that calls save() is async, and so is every route that calls it; the others stay synchronous', () => {
    const c = compile(
      `${MODULES}\nloadmodule "usrloc.so"\nloadmodule "registrar.so"\nrequest_route {\n  route(REQINIT);\n  route(REG);\n}\nroute[REQINIT] { if (!mf_process_maxfwd_header("10")) exit; }\nroute[REG] { if (!save("location")) sl_reply_error(); exit; }\nonreply_route { exit; }\n`,
    );
    const r = c.routes;
    assert.equal(r.request?.async, true);
    assert.deepEqual(
      r.route.map((x) => `${x.key}:${x.async}`),
      ['REQINIT:false', 'REG:true'],
    );
    assert.equal(r.onreply?.async, false);
    assert.match(c.javascript(), /await ctx\.route\('REG'\)/);
    assert.match(c.javascript(), /[^t] ctx\.route\('REQINIT'\)/);
  });

  test('the script is compiled once: the same functions for every message', () => {
    const c = compile(cfg('  exit;'));
    assert.equal(c.script(), c.script());
  });
});
