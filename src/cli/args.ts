import { parseArgs } from 'node:util';

/** One option of a command: a value (`--url URL`) or a switch (`--json`). */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** A value option that may be given more than once (`--set a=1 --set b=2`): every value, in order. */
  readonly multiple?: boolean;
}

/** The options a command accepts, by long name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Parsed option values: a string for a value option, true for a given switch. */
export type OptionValues<T extends OptionSpecs> = {
  [K in keyof T]?: T[K]['type'] extends 'string'
    ? T[K]['multiple'] extends true
      ? string[]
      : string
    : boolean;
};

/**
 * Bad command-line usage: the CLI prints the message and where to find the command's help, and
 * exits 2.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose help to point at (`start`, `ctl bindings`); undefined: the global help. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/**
 * Parses a command's arguments with `node:util` `parseArgs` (non-strict, tokens) and reports
 * mistakes in words of its own: Node's strict-mode messages quote oddly (`'-- "--help"`) and
 * name no command. `-h` / `--help` is accepted by every command (as `help`).
 * @throws UsageError for an unknown option, a value option without value, a switch with one.
 */
export function parseCommandArgs<T extends OptionSpecs>(
  command: string,
  argv: readonly string[],
  options: T,
): { values: OptionValues<T> & { help?: boolean }; positionals: string[] } {
  const specs: Record<string, OptionSpec> = { ...options, help: { type: 'boolean', short: 'h' } };
  const { tokens } = parseArgs({
    args: [...argv],
    options: specs,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const values: Record<string, string | string[] | boolean> = {};
  const positionals: string[] = [];
  const known = Object.entries(options)
    .map(([name, s]) => (s.short === undefined ? `--${name}` : `-${s.short}/--${name}`))
    .join(', ');
  for (const t of tokens) {
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind !== 'option') continue;
    const spec = specs[t.name];
    if (spec === undefined)
      throw new UsageError(
        `unknown option '${t.rawName}' (${command} takes ${known === '' ? 'none' : known})`,
        command,
      );
    if (spec.type === 'string') {
      // as strict parseArgs: `--url --json` is a missing value, not the URL "--json"
      if (t.value === undefined || (t.inlineValue !== true && /^-./.test(t.value)))
        throw new UsageError(`option '${t.rawName}' needs a value`, command);
      const prev = values[t.name];
      values[t.name] =
        spec.multiple === true ? [...(Array.isArray(prev) ? prev : []), t.value] : t.value;
    } else {
      if (t.value !== undefined)
        throw new UsageError(`option '${t.rawName}' takes no value (got '${t.value}')`, command);
      values[t.name] = true;
    }
  }
  return { values: values as OptionValues<T> & { help?: boolean }, positionals };
}
