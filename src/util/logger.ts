/** The logging contract every layer uses: pino-shaped, so the CLI can pass a pino logger in. */
export interface LogFn {
  (msg: string): void;
  (obj: object, msg?: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const noop: LogFn = () => {};

/** A logger that discards everything (library default). */
export const noopLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => noopLogger,
};

/**
 * Logs a line at most once per `intervalMs` per key, counting what it suppressed: every dropped or
 * rejected message is logged with why, without letting a flood fill the disk.
 */
export class RateLimitedLog {
  readonly #intervalMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();
  constructor(intervalMs = 10_000) {
    this.#intervalMs = intervalMs;
  }
  log(
    logger: Logger,
    level: 'warn' | 'info' | 'debug' | 'error',
    key: string,
    obj: object,
    msg: string,
  ): void {
    const now = Date.now();
    const e = this.#last.get(key);
    if (e !== undefined && now - e.at < this.#intervalMs) {
      e.suppressed++;
      return;
    }
    const suppressed = e?.suppressed ?? 0;
    if (this.#last.size > 10_000) this.#last.clear();
    this.#last.set(key, { at: now, suppressed: 0 });
    logger[level](suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
}
