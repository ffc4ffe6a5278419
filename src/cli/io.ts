import { type ConfigIssue, formatIssue } from '../config/errors.js';

// Where the CLI's output goes, and how its commands report problems.

/** Where output goes (tests pass their own). */
export interface Io {
  out(s: string): void;
  err(s: string): void;
}

export const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export function printIssues(io: Io, issues: readonly ConfigIssue[]): void {
  for (const i of issues) io.err(`${formatIssue(i)}\n`);
}

/** A usage mistake: the message, where the command's help is; exit 2. */
export function usageError(io: Io, m: string, command?: string): number {
  io.err(
    `flowgate${command === undefined ? '' : ` ${command}`}: ${m}\nRun 'flowgate ${command === undefined ? 'help' : `${command} --help`}' for usage.\n`,
  );
  return 2;
}
