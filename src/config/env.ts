import { type Document, isPair, isScalar, isSeq, parse, type Scalar, visit } from 'yaml';

/**
 * `${NAME}` and `${NAME:-default}` in configuration values, so that secrets (`flow_token_secret`,
 * the management token) and per-host values (addresses, ports) come from the environment, as
 * systemd units and containers hand them over. Kamailio's equivalents are `$env(NAME)` and
 * `#!defenv`.
 *
 * - Only values are expanded, never keys; `$${` writes a literal `${`; a `$` not followed by `{`
 *   stays as written.
 * - `${NAME:-default}` takes the default when NAME is unset or empty (the shell's `:-`).
 * - In a plain (unquoted) scalar the result is read again as a YAML scalar: `port: ${SIP_PORT}` is
 *   a number, `force_rport: ${RPORT:-true}` a boolean and `flow_token_secret: ${SECRET:-null}` null
 *   (unset), as if the text had been written there. Only null, booleans and numbers are taken
 *   from that reading; anything else stays the text as substituted (an empty result stays an empty
 *   string). In a quoted scalar the result is always a string.
 * - Every expanded value is recorded ({@link EnvSource}) so that messages about it name the
 *   reference and never echo the value (secrets come this way).
 */

/** The environment the configuration reads (`process.env` unless a test hands another). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A value that could not be expanded, with the offset of its node and its config path. */
export interface EnvIssue {
  readonly offset: number;
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** A variable whose value was substituted from the environment. */
export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

/** A value that came (wholly or partly) from `${…}` references. */
export interface EnvSource {
  /** Config path of the value. */
  readonly path: readonly (string | number)[];
  /** The value as written in the file (`${FLOWGATE_SECRET}`): named in messages instead of the value. */
  readonly written: string;
  /** The text after substitution. */
  readonly text: string;
  /** The variables taken from the environment (not from a `:-default`), with their values. */
  readonly vars: readonly EnvVar[];
  /** The scalar it was written in: an alias or merge key (`<<`) reads it at other paths too. */
  readonly node?: Scalar | undefined;
}

/** What {@link expandEnvironment} found. */
export interface EnvExpansion {
  readonly issues: EnvIssue[];
  readonly sources: EnvSource[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Expanded =
  | { ok: true; value: string; refs: number; vars: EnvVar[] }
  | { ok: false; message: string };

/** Expands the references in one value; `refs` counts them, `vars` lists those the environment filled. */
export function expandValue(text: string, env: Environment): Expanded {
  let out = '';
  let i = 0;
  let refs = 0;
  const vars: EnvVar[] = [];
  for (;;) {
    const d = text.indexOf('$', i);
    if (d < 0) return { ok: true, value: out + text.slice(i), refs, vars };
    out += text.slice(i, d);
    if (text.startsWith('$${', d)) {
      out += '${';
      i = d + 3;
      continue;
    }
    if (text[d + 1] !== '{') {
      out += '$';
      i = d + 1;
      continue;
    }
    const close = text.indexOf('}', d + 2);
    const inner = close < 0 ? '' : text.slice(d + 2, close);
    const sep = inner.indexOf(':-');
    const name = sep < 0 ? inner : inner.slice(0, sep);
    if (close < 0 || !NAME.test(name)) {
      const shown = text.slice(d, close < 0 ? d + 24 : close + 1);
      return {
        ok: false,
        message: `malformed environment reference '${shown}': write \${NAME} or \${NAME:-default} (NAME: letters, digits, _), or $\${ for a literal \${`,
      };
    }
    const v = env[name];
    refs++;
    if (v !== undefined && (sep < 0 || v !== '')) {
      out += v;
      vars.push({ name, value: v });
    } else if (sep >= 0) out += inner.slice(sep + 2);
    else
      return {
        ok: false,
        message: `environment variable ${name} is not set: set it, or give a default with \${${name}:-value}`,
      };
    i = close + 1;
  }
}

/**
 * The config path of a scalar from its ancestors (document, maps, pairs, sequences). A mapping
 * written inline after a merge key (`<<: { a: 1 }`, `<<: [{ a: 1 }]`) adds no key of its own: its
 * keys are the enclosing mapping's.
 */
function pathOf(ancestors: readonly unknown[], node: Scalar): (string | number)[] {
  const out: (string | number)[] = [];
  let merged = false;
  for (let k = 0; k < ancestors.length; k++) {
    const a = ancestors[k];
    const child = ancestors[k + 1] ?? node;
    if (isPair(a)) {
      // the yaml package reads a plain `<<` (merge: true) as a symbol
      merged = isScalar(a.key) && typeof a.key.value === 'symbol';
      if (!merged) out.push(String(isScalar(a.key) ? a.key.value : a.key));
    } else if (isSeq(a)) {
      if (!merged) out.push(a.items.indexOf(child as never));
      merged = false;
    }
  }
  return out;
}

/**
 * The plain-scalar reading of an expanded value: null, a boolean or a number when YAML reads the
 * text as one (`null`, `~`, `true`, `5060`, `0x1F`); otherwise the text itself, unchanged (a YAML
 * reading would strip quotes or a `#` comment out of a secret). Empty text stays empty: an empty
 * variable is more likely a mistake than a wish to unset the key, and the schema says so.
 */
function retype(value: string): string | number | boolean | null {
  if (value === '') return value;
  try {
    const v: unknown = parse(value, { logLevel: 'error' });
    return v === null || typeof v === 'number' || typeof v === 'boolean' ? v : value;
  } catch {
    return value;
  }
}

/**
 * Expands the references in every value of `doc` in place; returns what could not be expanded and
 * where the environment was used.
 */
export function expandEnvironment(doc: Document, env: Environment): EnvExpansion {
  const issues: EnvIssue[] = [];
  const sources: EnvSource[] = [];
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const r = expandValue(node.value, env);
      if (!r.ok) {
        issues.push({
          offset: node.range?.[0] ?? 0,
          path: pathOf(ancestors, node),
          message: r.message,
        });
        return;
      }
      if (r.refs > 0)
        sources.push({
          path: pathOf(ancestors, node),
          written: node.value,
          text: r.value,
          vars: r.vars,
          node,
        });
      // YAML 1.2: an unquoted scalar is typed by its text; a quoted one is a string
      const plain = node.type === undefined || node.type === 'PLAIN';
      node.value = plain ? retype(r.value) : r.value;
    },
  });
  return { issues, sources };
}
