// The README's "A five-minute tour", run exactly as printed: every command of its fenced `sh`
// blocks, in order, in the checkout, against `flowgate start` with the embedded default
// configuration (edge 127.0.0.1:5060/8080, registrar 127.0.0.1:5070, management 127.0.0.1:8081).
// Those fixed ports would collide with other tests, so everything runs in namespaces of its own:
// a network namespace with only loopback, and a mount namespace in which the checkout is an
// overlay, so the server's ./.data (and anything else written there) lands in a temp directory.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureBuilt, ROOT } from '../integration/cli/helpers.js';
import { waitFor } from '../support/net.js';

/** The commands of the fenced `sh` blocks under "## A five-minute tour", continuation lines kept. */
export function tourCommands(readme: string): string[] {
  const start = readme.indexOf('\n## A five-minute tour');
  assert.notEqual(start, -1, 'README.md has a "## A five-minute tour" section');
  const rest = readme.slice(start + 1);
  const next = rest.indexOf('\n## ');
  const section = next === -1 ? rest : rest.slice(0, next);
  const out: string[] = [];
  for (const m of section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    let cur = '';
    for (const line of (m[1] ?? '').split('\n')) {
      if (cur === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
      cur = cur === '' ? line : `${cur}\n${line}`;
      if (!line.endsWith('\\')) {
        out.push(cur);
        cur = '';
      }
    }
    if (cur !== '') out.push(cur);
  }
  return out;
}

function skipReason(): string | false {
  if (process.getuid?.() !== 0)
    return 'needs root for its network and mount namespaces: README tour test skipped';
  const tools = ['sipp', 'unshare', 'nsenter', 'ip', 'curl', 'npx'];
  const missing = tools.filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0)
    return `${missing.join(', ')} missing: README tour test skipped (scripts/test-all.sh installs sipp)`;
  return false;
}

interface Ran {
  readonly code: number | null;
  readonly out: string;
  readonly ms: number;
}

/** What each tour command must do, in order. */
interface Step {
  /** The command this step expects (the README may word its text freely around it). */
  readonly command: RegExp;
  /** Started and left running (the phone). */
  readonly background?: boolean;
  check(r: Ran): void | Promise<void>;
}

describe('README "A five-minute tour": every command, exactly as printed', {
  skip: skipReason(),
  timeout: 120_000,
}, () => {
  let dir = '';
  let holder: ChildProcess | undefined;
  const procs: ChildProcess[] = [];
  let serverLog: () => string = () => '';
  /** Why the namespaces could not be made (the test then skips). */
  let unavailable: string | undefined;
  const env = {
    ...process.env,
    PATH: [join(ROOT, 'node_modules', '.bin'), dirname(process.execPath), process.env['PATH']].join(
      ':',
    ),
  };

  /** Runs `cmd` with `sh -c` in the checkout inside the namespaces (its own process group). */
  function inNs(cmd: string): ChildProcess {
    assert.ok(holder?.pid !== undefined, 'the namespaces exist');
    const p = spawn(
      'nsenter',
      ['-t', String(holder.pid), '-m', '-n', '--', 'sh', '-c', `cd '${ROOT}' && ${cmd}`],
      { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    procs.push(p);
    return p;
  }

  function collect(p: ChildProcess): { text: () => string; done: Promise<Ran> } {
    let out = '';
    const t0 = performance.now();
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const done = new Promise<Ran>((resolve) => {
      p.on('close', (code) => resolve({ code, out, ms: performance.now() - t0 }));
    });
    return { text: () => out, done };
  }

  async function run(cmd: string, timeoutMs = 30_000): Promise<Ran> {
    const p = inNs(cmd);
    const c = collect(p);
    const t = setTimeout(() => {
      if (p.pid !== undefined) process.kill(-p.pid, 'SIGKILL');
    }, timeoutMs);
    const r = await c.done;
    clearTimeout(t);
    return r;
  }

  before(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'flowgate-tour-'));
    // holds the namespaces: loopback up, the checkout overlaid; writes go to a tmpfs that only
    // this mount namespace sees (a tmpfs upper layer also works where /tmp is an overlay itself)
    holder = spawn(
      'unshare',
      [
        '--mount',
        '--net',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        `ip link set lo up && mount -t tmpfs tmpfs '${dir}' && mkdir '${dir}/up' '${dir}/work' && mount -t overlay overlay -o lowerdir='${ROOT}',upperdir='${dir}/up',workdir='${dir}/work' '${ROOT}' && echo ready && exec sleep 600`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let holderOut = '';
    holder.stdout?.on('data', (d: Buffer) => {
      holderOut += d.toString();
    });
    holder.stderr?.on('data', (d: Buffer) => {
      holderOut += d.toString();
    });
    const exited = new Promise<void>((resolve) => holder?.on('exit', () => resolve()));
    await Promise.race([
      waitFor(() => holderOut.includes('ready'), 10_000, 'the namespaces'),
      exited,
    ]);
    if (!holderOut.includes('ready')) {
      unavailable = `cannot set up the namespaces (loopback network, overlay on the checkout): ${holderOut.trim()}`;
      return;
    }
    // `npm start` is `npm run build` and then this
    const server = inNs(`exec node dist/cli/main.js start`);
    const s = collect(server);
    await waitFor(() => /management: http/.test(s.text()), 20_000, 'flowgate start');
    serverLog = s.text;
  });

  after(() => {
    for (const p of procs) {
      try {
        if (p.pid !== undefined && p.exitCode === null) process.kill(-p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    holder?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('register a phone, see it, call it (answered), call again after its flow is gone (480)', async (t) => {
    if (unavailable !== undefined) {
      t.skip(unavailable);
      return;
    }
    let phone: { text: () => string; done: Promise<Ran> } | undefined;
    const steps: Step[] = [
      {
        command: /^sipp 127\.0\.0\.1:5060 -t t1 -sf examples\/sipp\/uas-register-answer\.xml/,
        background: true,
        check: () => {},
      },
      {
        command: /^npx flowgate ctl bindings$/,
        check: (r) => {
          assert.equal(r.code, 0, r.out);
          const [header, ...rows] = r.out.trim().split('\n');
          assert.match(header ?? '', /\bPATH\b/, `a PATH column: ${r.out}`);
          const alice = rows.find((l) => l.startsWith('alice '));
          assert.ok(alice, `alice is bound: ${r.out}`);
          assert.match(alice, /sip:alice@127\.0\.0\.1:\d+;transport=TCP;ob/i);
          assert.match(alice, /<sip:[^@ ]+@127\.0\.0\.1;lr;ob>/, 'the Path with the flow token');
          assert.match(alice, /<urn:uuid:00000000-0000-1000-8000-000000000001>/);
        },
      },
      {
        command: /^npx flowgate ctl flows$/,
        check: (r) => {
          assert.equal(r.code, 0, r.out);
          assert.match(r.out, /tcp/i);
          assert.match(r.out, /127\.0\.0\.1/);
        },
      },
      {
        command: /^npx flowgate ctl stats$/,
        check: (r) => {
          assert.equal(r.code, 0, r.out);
          assert.match(r.out, /edge/);
          assert.match(r.out, /registrar/);
        },
      },
      {
        command:
          /^curl -s -H "Authorization: Bearer \$\(cat \.data\/management\.token\)" 127\.0\.0\.1:8081\/metrics$/,
        check: (r) => {
          assert.equal(r.code, 0, r.out);
          assert.match(r.out, /^# TYPE flowgate_\w+ /m);
          assert.match(r.out, /^flowgate_flow_failed_430_total\{/m);
        },
      },
      {
        command: /^sipp 127\.0\.0\.1:5070 -sf examples\/sipp\/uac-call\.xml -s alice -m 1$/,
        check: async (r) => {
          assert.equal(r.code, 0, `the call is answered: ${r.out}`);
          assert.match(r.out, /Successful call\s+\|\s+\d+\s+\|\s+1\b/);
          // the phone answered, was hung up on, and exits without unregistering
          assert.ok(phone);
          const p = await phone.done;
          assert.equal(p.code, 0, `the phone scenario succeeded: ${p.out.slice(-2000)}`);
        },
      },
      {
        command: /^sipp 127\.0\.0\.1:5070 -sf examples\/sipp\/uac-call\.xml -s alice -m 1$/,
        check: (r) => {
          assert.equal(r.code, 1, `sipp exits 1 for the failed call: ${r.out}`);
          assert.match(r.out, /\b480 <-+\s+1\s/, `the caller got 480: ${r.out}`);
          assert.match(r.out, /Failed call\s+\|\s+\d+\s+\|\s+1\b/);
          assert.ok(r.ms < 5000, `at once, not after a timeout (${Math.round(r.ms)} ms)`);
          // what happened on the way: 430 from the edge, the binding removed by the registrar
          assert.match(
            serverLog(),
            /outbound: the flow of a flow token is gone \(closed: remote\)/,
          );
          assert.match(
            serverLog(),
            /registrar: binding removed \(its flow failed: the branch ended with 430\)/,
          );
        },
      },
      {
        command: /^npx flowgate ctl bindings$/,
        check: (r) => {
          assert.equal(r.code, 0, r.out);
          assert.match(r.out, /no bindings/);
        },
      },
    ];
    const commands = tourCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    assert.deepEqual(
      commands.map((c, i) => steps[i]?.command.test(c) ?? false),
      commands.map(() => true),
      `the tour's commands, in order, are the ones this test knows:\n${commands.join('\n')}`,
    );
    assert.equal(
      commands.length,
      steps.length,
      `every step is in the tour:\n${commands.join('\n')}`,
    );
    for (const [i, cmd] of commands.entries()) {
      const step = steps[i] as Step;
      if (step.background === true) {
        phone = collect(inNs(cmd));
        // a person reads on before looking: wait until the phone is registered
        const t0 = Date.now();
        for (;;) {
          const b = await run(
            'curl -s -H "Authorization: Bearer $(cat .data/management.token)" 127.0.0.1:8081/v1/bindings',
          );
          if (/"aor": ?"alice"/.test(b.out)) break;
          assert.ok(
            Date.now() - t0 < 15_000,
            `the phone registers: ${b.out}\n${phone.text().slice(-2000)}`,
          );
          await new Promise((r) => setTimeout(r, 200));
        }
        continue;
      }
      const r = await run(cmd);
      await step.check(r);
    }
  });
});
