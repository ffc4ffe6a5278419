// Help and usage of the CLI: every command and subcommand answers -h / --help (exit 0) with its
// usage, options and examples; `help <command>` and `ctl help <command>` print the same text; a
// wrong option is a plain message naming the command (exit 2), never Node's parser text. The
// cases the issue names run the built CLI as a process; the exhaustive loops call the same main()
// in this process (a process per case would take a minute).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { CTL_COMMANDS as CTL } from '../../../src/cli/ctl.js';
import { main } from '../../../src/cli/program.js';
import { ensureBuilt, type RunResult, run as runProcess } from './helpers.js';

before(() => ensureBuilt());

/** The CLI's main() in this process, output captured. */
async function cli(args: readonly string[]): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    out: (s) => {
      stdout += s;
    },
    err: (s) => {
      stderr += s;
    },
  });
  return { code, stdout, stderr };
}

const CTL_COMMANDS = Object.keys(CTL);
const USER_COMMANDS = ['add', 'passwd', 'remove', 'list'];

/** Usage line, an Examples block of 1 to 3 command lines, nothing of Node's argument parser. */
function assertHelp(text: string, usage: RegExp, label: string): void {
  assert.match(text, usage, label);
  const ex = /\nExamples:\n((?: {2}\S.*\n?)+)/.exec(text);
  assert.ok(ex !== null, `${label}: no Examples block:\n${text}`);
  const lines = (ex[1] ?? '').trimEnd().split('\n');
  assert.ok(lines.length >= 1 && lines.length <= 3, `${label}: ${lines.length} examples`);
  for (const l of lines) assert.match(l, /^ {2}(flowgate|printf) /, label);
  assert.doesNotMatch(text, /To specify a positional argument|ERR_PARSE_ARGS/, label);
  for (const l of text.split('\n')) assert.ok(l.length <= 100, `${label}: line too long: ${l}`);
}

describe('the built CLI as a process: what issue 14 found wrong', { concurrency: true }, () => {
  const cases: [string[], RegExp][] = [
    [['start', '--help'], /^Usage: flowgate start /],
    [['check', '-h'], /^Usage: flowgate check /],
    [['ctl', 'bindings', '--help'], /^Usage: flowgate ctl \[options\] bindings /],
    [['help', 'start'], /^Usage: flowgate start /],
    [['ctl', 'help'], /^Usage: flowgate ctl \[options\] <command> /],
    [['user', 'add', '-h'], /^Usage: flowgate user add /],
  ];
  for (const [args, usage] of cases)
    test(`flowgate ${args.join(' ')}: exit 0, its usage, options and examples`, async () => {
      const r = await runProcess(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assertHelp(r.stdout, usage, args.join(' '));
      assert.match(r.stdout, /\nOptions:\n/);
    });

  test('flowgate ctl flows --transport xyz: exit 1 with the allowed values', async () => {
    const r = await runProcess([
      'ctl',
      '--url',
      'http://127.0.0.1:9',
      'flows',
      '--transport',
      'xyz',
    ]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'flowgate ctl: --transport xyz: no such transport (expected one of udp, tcp, tls, ws, wss)\n',
    );
  });
});

describe('flowgate --help for every command and subcommand', () => {
  test('start, check, version: --help and -h exit 0 with usage, options and examples', async () => {
    for (const cmd of ['start', 'check', 'version']) {
      for (const flag of ['--help', '-h']) {
        const r = await cli([cmd, flag]);
        assert.equal(r.code, 0, `${cmd} ${flag}: ${r.stderr}`);
        assert.equal(r.stderr, '');
        assertHelp(r.stdout, new RegExp(`^Usage: flowgate ${cmd}`), `${cmd} ${flag}`);
      }
    }
    const start = await cli(['start', '--help']);
    assert.match(start.stdout, /^ {2}--role NAME /m);
    assert.match(start.stdout, /^ {2}--log-level LEVEL /m);
    assert.match(start.stdout, /^ {2}--set KEY=VALUE /m);
    assert.match(
      start.stdout,
      /^Usage: flowgate start \[-c file\] \[--role name\] \[--set key=value\]\.\.\. /,
    );
    const check = await cli(['check', '-h']);
    assert.match(check.stdout, /^ {2}--no-port-check /m);
    assert.match(check.stdout, /^ {2}--data-dir DIR /m);
    assert.match(check.stdout, /^ {2}--set KEY=VALUE /m);
    const overview = await cli(['help']);
    assert.match(
      overview.stdout,
      /^ {2}flowgate check \[--data-dir dir\] \[--no-port-check\] \[--set key=value\]\.\.\. <file>$/m,
    );
    assert.match(overview.stdout, /^ {6}--set key=value \(repeatable\) changes a key of it/m);
  });

  test('help <command> prints that command help, not the overview', async () => {
    for (const cmd of ['start', 'check', 'version']) {
      const viaHelp = await cli(['help', cmd]);
      const viaFlag = await cli([cmd, '--help']);
      assert.equal(viaHelp.code, 0);
      assert.equal(viaHelp.stdout, viaFlag.stdout, cmd);
      assert.doesNotMatch(viaHelp.stdout, /^ctl Commands:/m, cmd);
    }
    const ctl = await cli(['help', 'ctl', 'bindings']);
    assert.equal(ctl.stdout, (await cli(['ctl', 'bindings', '--help'])).stdout);
    const user = await cli(['help', 'user', 'add']);
    assert.equal(user.stdout, (await cli(['user', 'add', '--help'])).stdout);
    const overview = await cli(['help']);
    assert.equal(overview.code, 0);
    assert.match(overview.stdout, /^ {2}flowgate help \[command \[subcommand\]\]$/m);
  });

  test('cfg: in the overview; help cfg, help cfg translate, cfg --help and cfg translate -h agree', async () => {
    const overview = await cli(['help']);
    assert.match(overview.stdout, /^ {2}flowgate cfg translate \[-A NAME\] <file\.cfg>$/m);
    const flag = await cli(['cfg', '--help']);
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(flag.stderr, '');
    assertHelp(flag.stdout, /^Usage: flowgate cfg translate /, 'cfg --help');
    assert.match(flag.stdout, /\nOptions:\n/);
    for (const args of [
      ['help', 'cfg'],
      ['help', 'cfg', 'translate'],
      ['cfg', '-h'],
      ['cfg', 'translate', '--help'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, flag.stdout, args.join(' '));
    }
    const sub = await cli(['help', 'cfg', 'frob']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /^flowgate: no help for 'cfg frob': cfg has no subcommand 'frob'$/m);
  });

  test('ctl: ctl help, ctl --help, every ctl command with --help, -h and ctl help <command>', async () => {
    for (const args of [
      ['ctl', 'help'],
      ['ctl', '--help'],
      ['ctl', '-h'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 0, args.join(' '));
      assertHelp(r.stdout, /^Usage: flowgate ctl \[options\] <command> \[args\]/, args.join(' '));
      for (const c of CTL_COMMANDS) assert.match(r.stdout, new RegExp(`^ {2}${c}\\b`, 'm'), c);
    }
    for (const c of CTL_COMMANDS) {
      const flag = await cli(['ctl', c, '--help']);
      assert.equal(flag.code, 0, `ctl ${c} --help: ${flag.stderr}`);
      assertHelp(flag.stdout, new RegExp(`^Usage: flowgate ctl \\[options\\] ${c}\\b`), c);
      assert.equal((await cli(['ctl', c, '-h'])).stdout, flag.stdout, `ctl ${c} -h`);
      assert.equal((await cli(['ctl', 'help', c])).stdout, flag.stdout, `ctl help ${c}`);
    }
    // the options of a command are the ones it takes
    const flows = (await cli(['ctl', 'flows', '--help'])).stdout;
    assert.match(
      flows,
      /^ {2}--transport T +only flows of this transport: udp, tcp, tls, ws, wss$/m,
    );
    assert.match(flows, /^ {2}--element NAME /m);
    const health = (await cli(['ctl', 'health', '--help'])).stdout;
    assert.doesNotMatch(health, /--element|--transport/);
    const bindings = (await cli(['ctl', 'bindings', '--help'])).stdout;
    assert.match(bindings, /PATH is\nshortened in the table/);
  });

  test('user: every user command with --help, -h and user help <command>', async () => {
    for (const c of USER_COMMANDS) {
      const flag = await cli(['user', c, '--help']);
      assert.equal(flag.code, 0, `user ${c} --help: ${flag.stderr}`);
      assertHelp(flag.stdout, new RegExp(`^Usage: flowgate user ${c} `), `user ${c}`);
      assert.equal((await cli(['user', c, '-h'])).stdout, flag.stdout);
      assert.equal((await cli(['user', 'help', c])).stdout, flag.stdout);
    }
  });
});

describe('flowgate usage errors: plain messages, exit 2', () => {
  test('an unknown option names the command, the options it takes and where its help is', async () => {
    const cases: [string[], string][] = [
      [
        ['check', '-x', 'a.yaml'],
        "flowgate check: unknown option '-x' (check takes -c/--config, --data-dir, --no-port-check, --set)\nRun 'flowgate check --help' for usage.\n",
      ],
      [
        ['start', '--log-level'],
        "flowgate start: option '--log-level' needs a value\nRun 'flowgate start --help' for usage.\n",
      ],
      [
        ['ctl', 'flows', '--json=yes'],
        "flowgate ctl: option '--json' takes no value (got 'yes')\nRun 'flowgate ctl --help' for usage.\n",
      ],
      [
        ['version', '--bogus'],
        "flowgate version: unknown option '--bogus' (version takes none)\nRun 'flowgate version --help' for usage.\n",
      ],
    ];
    for (const [args, stderr] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, stderr, args.join(' '));
    }
    const ctlBogus = await cli(['ctl', 'bindings', '--bogus']);
    assert.equal(ctlBogus.code, 2);
    assert.match(ctlBogus.stderr, /^flowgate ctl: unknown option '--bogus' \(ctl takes --url, /);
  });

  test('help of something that does not exist; a ctl command that does not exist', async () => {
    const nope = await cli(['help', 'nope']);
    assert.equal(nope.code, 2);
    assert.equal(
      nope.stderr,
      "flowgate: no command 'nope' (commands: start, check, ctl, user, cfg, version, help)\nRun 'flowgate help' for usage.\n",
    );
    const sub = await cli(['help', 'ctl', 'frob']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /^flowgate: no help for 'ctl frob': ctl has no subcommand 'frob'$/m);
    const ctlHelp = await cli(['ctl', 'help', 'frob']);
    assert.equal(ctlHelp.code, 2);
    assert.match(ctlHelp.stderr, /^flowgate ctl: no ctl command 'frob'$/m);
    const ctl = await cli(['ctl', 'frob']);
    assert.equal(ctl.code, 2);
    assert.equal(
      ctl.stderr,
      `flowgate ctl: unknown command 'frob' (commands: ${CTL_COMMANDS.join(', ')})\nRun 'flowgate ctl help' for usage.\n`,
    );
    for (const c of ['health', 'bindings', 'close-flow', 'loglevel', 'help'])
      assert.ok(CTL_COMMANDS.includes(c), c);
  });

  test('ctl options a command does not take are usage errors; bad values are exit 1 with the allowed ones', async () => {
    // no server needed: all of this is refused before anything is sent
    const url = ['--url', 'http://127.0.0.1:9'];
    const notFor = await cli(['ctl', ...url, 'stats', '--transport', 'tcp']);
    assert.equal(notFor.code, 2);
    assert.equal(
      notFor.stderr,
      "flowgate ctl: --transport does not apply to 'stats' (only to flows)\nRun 'flowgate ctl help stats' for usage.\n",
    );
    const health = await cli(['ctl', ...url, 'health', '--element', 'edge']);
    assert.equal(health.code, 2);
    assert.match(
      health.stderr,
      /^flowgate ctl: --element does not apply to 'health' \(only to elements, bindings, unbind, flows, close-flow, stats(, [a-z-]+)*\)$/m,
    );
    const transport = await cli(['ctl', ...url, 'flows', '--transport', 'xyz']);
    assert.equal(transport.code, 1);
    assert.equal(
      transport.stderr,
      'flowgate ctl: --transport xyz: no such transport (expected one of udp, tcp, tls, ws, wss)\n',
    );
    const level = await cli(['ctl', ...url, 'loglevel', 'loud']);
    assert.equal(level.code, 1);
    assert.equal(
      level.stderr,
      'flowgate ctl: loglevel loud: no such level (expected one of trace, debug, info, warn, error, fatal, silent)\n',
    );
    const args = await cli(['ctl', ...url, 'close-flow']);
    assert.equal(args.code, 2);
    assert.match(args.stderr, /usage: flowgate ctl close-flow <id>/);
  });
});

describe('ctl capture and ctl trace (issue 13 §3)', () => {
  test('their help names their options; trace options are refused elsewhere; bad values', async () => {
    const trace = (await cli(['ctl', 'trace', '--help'])).stdout;
    assert.match(
      trace,
      /^Usage: flowgate ctl \[options\] trace \[--element name\] \[--aor aor\] \[--call-id id\] \[--count n\]$/m,
    );
    assert.match(trace, /^ {2}--aor AOR +only messages of this user: alice, alice@example\.com/m);
    assert.match(trace, /^ {2}--call-id ID +only messages of this call$/m);
    assert.match(trace, /^ {2}--count N +stop after N messages$/m);
    const capture = (await cli(['ctl', 'capture', '--help'])).stdout;
    assert.match(
      capture,
      /^Usage: flowgate ctl \[options\] capture \[on\|off\] \[--element name\]$/m,
    );
    assert.doesNotMatch(capture, /--aor/);
    const url = ['--url', 'http://127.0.0.1:9'];
    const notFor = await cli(['ctl', ...url, 'flows', '--aor', 'alice']);
    assert.equal(notFor.code, 2);
    assert.equal(
      notFor.stderr,
      "flowgate ctl: --aor does not apply to 'flows' (only to trace)\nRun 'flowgate ctl help flows' for usage.\n",
    );
    const count = await cli(['ctl', ...url, 'trace', '--count', '0']);
    assert.equal(count.code, 1);
    assert.equal(count.stderr, 'flowgate ctl: --count 0: expected a positive whole number\n');
    const onOff = await cli(['ctl', ...url, 'capture', 'maybe']);
    assert.equal(onOff.code, 2);
    assert.match(onOff.stderr, /usage: flowgate ctl capture \[on\|off\]/);
    const away = await cli(['ctl', ...url, 'trace', '--aor', 'alice']);
    assert.equal(away.code, 1);
    assert.match(away.stderr, /^flowgate ctl: cannot reach flowgate at http:\/\/127\.0\.0\.1:9/);
  });
});
