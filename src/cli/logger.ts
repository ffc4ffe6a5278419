import { pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { LogLevel } from '../config/types.js';
import type { Logger } from '../util/logger.js';

/** The process logger and its destination's life cycle. */
export interface CliLogger {
  readonly logger: Logger;
  /** Reopens the log file (SIGHUP, after logrotate moved it); does nothing when logging to stdout. */
  reopen(): void;
  /** Writes out what is buffered (before exit). */
  flush(): void;
}

/**
 * A pino logger writing JSON lines (or pino-pretty lines with `pretty`) to stdout or to `file`.
 * Every layer gets it (or a child) through the pino-shaped `Logger` interface.
 */
export function createCliLogger(opts: {
  level: LogLevel;
  pretty: boolean;
  file: string | undefined;
}): CliLogger {
  const dest = pino.destination({
    dest: opts.file ?? 1,
    sync: opts.file === undefined,
    mkdir: opts.file !== undefined,
    append: true,
  });
  let stream: { write(s: string): void } = dest;
  if (opts.pretty) {
    const format = prettyFactory({
      colorize: opts.file === undefined && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      singleLine: true,
    });
    stream = {
      write(s: string): void {
        try {
          dest.write(format(JSON.parse(s) as object));
        } catch {
          dest.write(s);
        }
      },
    };
  }
  const logger = pino({ level: opts.level, base: { pid: process.pid } }, stream);
  return {
    logger,
    reopen() {
      if (opts.file !== undefined) dest.reopen();
    },
    flush() {
      try {
        dest.flushSync();
      } catch {
        // nothing buffered, or the destination is not ready yet
      }
    },
  };
}
