import { readFileSync } from 'node:fs';
import { parseCommandArgs } from './args.js';
import { type Io, usageError } from './io.js';

/** The package version (from package.json next to dist/ and src/). */
export function version(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `flowgate version --help` */
export const VERSION_HELP = `Usage: flowgate version    (or --version, -v)

Prints the flowgate version and the Node.js version it runs on.

Examples:
  flowgate version`;

/** `flowgate version` (also `--version`, `-v`). */
export function cmdVersion(io: Io, rest: string[]): number {
  const { values, positionals } = parseCommandArgs('version', rest, {});
  if (values.help === true) {
    io.out(`${VERSION_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0)
    return usageError(io, `version takes no arguments (got '${positionals.join(' ')}')`, 'version');
  io.out(`flowgate ${version()} (node ${process.version})\n`);
  return 0;
}
