import { ConfigError, type ConfigIssue, SECRET_KEYS } from './errors.js';
import { parseSetOption, type SetOverride } from './overrides.js';

/**
 * The `--set` arguments of `opts`, parsed.
 * @throws ConfigError naming each argument that is not `path=value`.
 */
export function setOverrides(opts: {
  readonly set?: readonly string[] | undefined;
}): SetOverride[] {
  const out: SetOverride[] = [];
  const issues: ConfigIssue[] = [];
  for (const text of opts.set ?? []) {
    const r = parseSetOption(text);
    if (r.ok) {
      out.push(r.override);
      continue;
    }
    // a secret's value stays out of the message: its key in the path, or in the value's text
    const eq = text.indexOf('=');
    const keys = text.slice(0, eq).split(/[.[\]]/);
    const secret =
      eq >= 0 &&
      [...SECRET_KEYS].some(
        (k) => keys.includes(k) || new RegExp(`\\b${k}\\s*:`).test(text.slice(eq + 1)),
      );
    issues.push({
      file: `--set ${secret ? `${text.slice(0, eq)}=…` : text}`,
      line: undefined,
      col: undefined,
      path: '',
      message: secret ? r.message.replace(/"[^"]*"/g, '"…"') : r.message,
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return out;
}
