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
  /** The level of the process, or of one element's log lines. */
  level(element?: string): LogLevel;
  /**
   * Sets the level at run time (`flowgate ctl loglevel`): of the whole process (every element
   * with it), or of one element's lines only.
   */
  setLevel(level: LogLevel, element?: string): void;
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
  // pino children follow their parent's level until one is set on them: an element's level is set
  // on its topmost loggers (those whose parent has no `element` binding), which their own
  // children follow
  const elementLoggers = new Map<string, pino.Logger[]>();
  const logger = pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      onChild: (child) => {
        const element = child.bindings()['element'];
        if (typeof element !== 'string') return;
        const parent = Object.getPrototypeOf(child) as pino.Logger;
        if (typeof parent.bindings === 'function' && parent.bindings()['element'] === element)
          return;
        const list = elementLoggers.get(element);
        if (list === undefined) elementLoggers.set(element, [child]);
        else list.push(child);
      },
    },
    stream,
  );
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
    level(element) {
      const l = element === undefined ? undefined : elementLoggers.get(element)?.[0];
      return (l ?? logger).level as LogLevel;
    },
    setLevel(level, element) {
      if (element !== undefined) {
        for (const l of elementLoggers.get(element) ?? []) l.level = level;
        return;
      }
      logger.level = level;
      for (const list of elementLoggers.values()) for (const l of list) l.level = level;
    },
  };
}
