// A Logger for tests that keeps every line, so a test can assert that a limit logs exactly once.
import type { Logger } from '../../src/util/logger.js';

/** One line a {@link CapturingLogger} was given. */
export interface LogLine {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

/** A Logger that keeps every line (and its children's) so a test can count them. */
export class CapturingLogger implements Logger {
  readonly lines: LogLine[];
  readonly #bindings: Record<string, unknown>;

  constructor(lines: LogLine[] = [], bindings: Record<string, unknown> = {}) {
    this.lines = lines;
    this.#bindings = bindings;
  }

  #log(level: string, a: object | string, b?: string): void {
    const obj = typeof a === 'string' ? {} : (a as Record<string, unknown>);
    const msg = typeof a === 'string' ? a : b;
    this.lines.push({ level, obj: { ...this.#bindings, ...obj }, msg });
  }

  trace = (a: object | string, b?: string): void => this.#log('trace', a, b);
  debug = (a: object | string, b?: string): void => this.#log('debug', a, b);
  info = (a: object | string, b?: string): void => this.#log('info', a, b);
  warn = (a: object | string, b?: string): void => this.#log('warn', a, b);
  error = (a: object | string, b?: string): void => this.#log('error', a, b);
  fatal = (a: object | string, b?: string): void => this.#log('fatal', a, b);

  child(bindings: Record<string, unknown>): Logger {
    return new CapturingLogger(this.lines, { ...this.#bindings, ...bindings });
  }

  /** The lines whose message matches `re`. */
  matching(re: RegExp): LogLine[] {
    return this.lines.filter((l) => l.msg !== undefined && re.test(l.msg));
  }
}
