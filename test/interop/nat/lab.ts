// A NAT made of three network namespaces, for the interop tests of phones behind NAT (issue 13 §1).
// Not a test file.
//
//   phone ns  10.0.0.2/24 ── veth ── 10.0.0.1/24  nat ns  192.0.2.1/24 ── veth ── 192.0.2.2/24  server ns
//             default via 10.0.0.1               ip_forward=1, iptables -t nat POSTROUTING
//                                                -o <outside veth> -j MASQUERADE
//
// The server namespace has no route to 10.0.0.0/24: a phone's Contact (10.0.0.2) is unreachable from
// there, as from a real edge on the Internet; only what the phone's own packets opened in the NAT
// comes back. None of the namespaces is linked to the root namespace or has a route anywhere else,
// and the addresses are private (RFC 1918) and documentation (RFC 5737 TEST-NET-1) ones, so no packet
// can leave the namespaces. Every process started here runs in one of them and is killed by
// `destroy()`, which then removes the iptables rule, the veth pairs and the namespaces.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** The addresses of the lab. */
export const LAB = {
  phone: '10.0.0.2',
  natInside: '10.0.0.1',
  natOutside: '192.0.2.1',
  server: '192.0.2.2',
} as const;

/** A process running in one of the lab's namespaces, with its stdin open and its output kept. */
export class LabProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly logFile: string;
  #out = '';

  constructor(name: string, proc: ChildProcess, logFile: string) {
    this.name = name;
    this.proc = proc;
    this.logFile = logFile;
    const keep = (d: Buffer): void => {
      this.#out += d.toString('latin1');
      try {
        writeFileSync(logFile, this.#out);
      } catch {
        // the test directory is gone (cleanup): nothing left to record
      }
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  /** Everything it printed so far (stdout and stderr, in arrival order). */
  get text(): string {
    return this.#out;
  }

  /** Types one line on its standard input (a command to baresip's stdio or linphonec). */
  type(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }

  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }
}

/** The three namespaces and two veth pairs of one test run (names carry the test's pid). */
export class NatLab {
  readonly phoneNs: string;
  readonly natNs: string;
  readonly serverNs: string;
  /** The veth ends: phone side, NAT inside, NAT outside, server side (15 characters at most). */
  readonly links: { phone: string; natIn: string; natOut: string; server: string };
  readonly #procs: LabProcess[] = [];
  #ruleAdded = false;

  constructor(tag: string = String(process.pid)) {
    const t = tag.slice(-6);
    this.phoneNs = `flowgate-nat-phone-${tag}`;
    this.natNs = `flowgate-nat-nat-${tag}`;
    this.serverNs = `flowgate-nat-server-${tag}`;
    this.links = { phone: `fgph${t}`, natIn: `fgni${t}`, natOut: `fgno${t}`, server: `fgsv${t}` };
  }

  /** Builds the namespaces, the veth pairs, the addresses and routes, and the masquerading rule. */
  up(): void {
    const { phoneNs: P, natNs: N, serverNs: S, links: l } = this;
    for (const ns of [P, N, S]) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    // each veth pair is made inside the namespace of its first end, so nothing touches the root one
    ip('-n', P, 'link', 'add', l.phone, 'type', 'veth', 'peer', 'name', l.natIn, 'netns', N);
    ip('-n', N, 'link', 'add', l.natOut, 'type', 'veth', 'peer', 'name', l.server, 'netns', S);
    ip('-n', P, 'addr', 'add', `${LAB.phone}/24`, 'dev', l.phone);
    ip('-n', N, 'addr', 'add', `${LAB.natInside}/24`, 'dev', l.natIn);
    ip('-n', N, 'addr', 'add', `${LAB.natOutside}/24`, 'dev', l.natOut);
    ip('-n', S, 'addr', 'add', `${LAB.server}/24`, 'dev', l.server);
    ip('-n', P, 'link', 'set', l.phone, 'up');
    ip('-n', N, 'link', 'set', l.natIn, 'up');
    ip('-n', N, 'link', 'set', l.natOut, 'up');
    ip('-n', S, 'link', 'set', l.server, 'up');
    ip('-n', P, 'route', 'add', 'default', 'via', LAB.natInside);
    execFileSync('ip', ['netns', 'exec', N, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    execFileSync('ip', ['netns', 'exec', N, 'iptables', ...this.#rule('-A')]);
    this.#ruleAdded = true;
  }

  #rule(op: '-A' | '-D'): string[] {
    return ['-t', 'nat', op, 'POSTROUTING', '-o', this.links.natOut, '-j', 'MASQUERADE'];
  }

  /** `iptables -t nat -S POSTROUTING` in the NAT namespace (for the test's record). */
  natRules(): string {
    return execFileSync(
      'ip',
      ['netns', 'exec', this.natNs, 'iptables', '-t', 'nat', '-S', 'POSTROUTING'],
      {
        encoding: 'utf8',
      },
    );
  }

  /** The result of `ip route get <to>` in a namespace: the route, or the kernel's refusal. */
  routeGet(ns: string, to: string): { ok: boolean; text: string } {
    const r = spawnSync('ip', ['-n', ns, 'route', 'get', to], { encoding: 'utf8' });
    return { ok: r.status === 0, text: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
  }

  /** Starts `cmd` in namespace `ns`; its output goes to `logFile` (and `text`). */
  spawn(
    name: string,
    ns: string,
    cmd: string,
    args: readonly string[],
    logFile: string,
    env: Record<string, string> = {},
  ): LabProcess {
    const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // a command typed after the process ended must not kill the test
    p.stdin?.on('error', () => undefined);
    const lp = new LabProcess(name, p, logFile);
    this.#procs.push(lp);
    return lp;
  }

  /** Kills every process of the lab, then removes the rule, the veth pairs and the namespaces. */
  destroy(): void {
    for (const p of this.#procs) {
      p.proc.stdout?.removeAllListeners('data');
      p.proc.stderr?.removeAllListeners('data');
      p.proc.kill('SIGKILL');
    }
    // anything a process left behind in the namespaces, by pid
    for (const ns of [this.phoneNs, this.natNs, this.serverNs]) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split('\n').filter((x) => /^\d+$/.test(x))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (this.#ruleAdded)
      spawnSync('ip', ['netns', 'exec', this.natNs, 'iptables', ...this.#rule('-D')]);
    this.#ruleAdded = false;
    spawnSync('ip', ['-n', this.phoneNs, 'link', 'del', this.links.phone]);
    spawnSync('ip', ['-n', this.natNs, 'link', 'del', this.links.natOut]);
    for (const ns of [this.phoneNs, this.natNs, this.serverNs])
      spawnSync('ip', ['netns', 'del', ns]);
  }

  /** The lab's namespaces that still exist (for the test's check that `destroy()` left none). */
  leftovers(): string[] {
    const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    const names = new Set(list.split('\n').map((l) => l.split(' ')[0]));
    return [this.phoneNs, this.natNs, this.serverNs].filter((n) => names.has(n));
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
