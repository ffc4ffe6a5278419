// Runs the built CLI (dist/cli/main.js) as a real process: start, check, ctl, version. Not a test file.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WAIT_MS, waitFor } from '../../support/net.js';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

function newest(dir: string): number {
  let t = 0;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    const st = statSync(p);
    t = Math.max(t, st.isDirectory() ? newest(p) : st.mtimeMs);
  }
  return t;
}

/**
 * Builds dist/ when it is missing or older than src/ (CI builds before the tests; this keeps a
 * local run honest). Type errors elsewhere do not stop tsc from emitting.
 */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newest(join(ROOT, 'src'))) return;
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      { cwd: ROOT, stdio: 'pipe', timeout: 60_000 },
    );
  } catch {
    // emitted anyway; a missing entry point fails below
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} was not built (npm run build)`);
}

/** Result of a finished CLI run. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion (bounded). */
export function run(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(
        new Error(
          `flowgate ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 15_000} ms\n${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 15_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A running `flowgate start`. */
export class Running {
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  exitCode: number | null | undefined;

  private constructor(proc: ChildProcess) {
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    proc.on('exit', (code) => {
      this.exitCode = code;
    });
  }

  /**
   * Starts `flowgate start …` and waits until it printed where it listens (or exited). `command`
   * replaces `node dist/cli/main.js` (node options such as `--import`, or an installed `flowgate`
   * bin); `env` adds to the environment.
   */
  static async start(
    args: readonly string[],
    opts: {
      cwd?: string;
      waitFor?: RegExp;
      env?: NodeJS.ProcessEnv;
      command?: readonly [string, ...string[]];
    } = {},
  ): Promise<Running> {
    const [exe, ...pre] = opts.command ?? [process.execPath, CLI];
    const r = new Running(
      spawn(exe, [...pre, 'start', ...args], {
        cwd: opts.cwd ?? ROOT,
        env: { ...process.env, ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const ready = opts.waitFor ?? /^management: /m;
    await waitFor(
      () => ready.test(r.stderr) || r.exitCode !== undefined,
      15_000,
      'flowgate start to print where it listens',
    );
    return r;
  }

  /** `element -> ["udp:127.0.0.1:40000", …]` from the "X: listening on …" lines. */
  get listeners(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const m of this.stderr.matchAll(/^(\S+): listening on (.+)$/gm))
      out.set(m[1] ?? '', (m[2] ?? '').split(', '));
    return out;
  }

  /** The port of an element's listener of a transport. */
  port(element: string, proto: string): number {
    const l = this.listeners.get(element)?.find((x) => x.startsWith(`${proto}:`));
    if (l === undefined) throw new Error(`${element} has no ${proto} listener:\n${this.stderr}`);
    return Number(l.slice(l.lastIndexOf(':') + 1));
  }

  /** The management URL printed at start. */
  get managementUrl(): string {
    const m = /^management: (http:\/\/\S+)/m.exec(this.stderr);
    if (m?.[1] === undefined) throw new Error(`no management URL in:\n${this.stderr}`);
    return m[1];
  }

  /** JSON log lines so far. */
  logs(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Sends a signal and waits (bounded) for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = WAIT_MS * 2): Promise<number | null> {
    if (this.exitCode === undefined) this.proc.kill(signal);
    await waitFor(() => this.exitCode !== undefined, timeoutMs, `flowgate to exit after ${signal}`);
    return this.exitCode ?? null;
  }

  /** Last resort for after(): never leave a process behind. */
  kill(): void {
    if (this.exitCode === undefined) this.proc.kill('SIGKILL');
  }
}
