import { SipError } from '../errors/index.js';

/** Keys whose values are secrets: messages give their kind and length, never their text. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'flow_token_secret',
  'flow_token_secret_previous',
  'token',
  'secret',
]);

/** One problem in a configuration file, with where it is. */
export interface ConfigIssue {
  /** The file as the user named it (or `<default config>`). */
  readonly file: string;
  /** 1-based; undefined when the problem has no position (e.g. the file cannot be read). */
  readonly line: number | undefined;
  readonly col: number | undefined;
  /** Dotted config path (`elements.edge.listen[0]`), empty for the whole file. */
  readonly path: string;
  /** What is wrong and what would be right. */
  readonly message: string;
}

/**
 * `file:line:col: path: message`; for a value from the command line `--set path=value: message`
 * (the argument names the path).
 */
export function formatIssue(i: ConfigIssue): string {
  const where = i.line === undefined ? i.file : `${i.file}:${i.line}:${i.col ?? 1}`;
  const named = i.line === undefined && i.file.startsWith(`--set ${i.path}=`);
  return i.path === '' || named ? `${where}: ${i.message}` : `${where}: ${i.path}: ${i.message}`;
}

/** A configuration that cannot be used; `issues` lists every problem found (not only the first). */
export class ConfigError extends SipError {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super('SIP_ERR_CONFIG', issues.map(formatIssue).join('\n'), options);
    this.issues = issues;
  }
}

/** `elements.edge.listen[0]` from `['elements', 'edge', 'listen', 0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}
