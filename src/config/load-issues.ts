import type { z } from 'zod';
import type { ConfigIssue } from './errors.js';
import { EnvRedaction } from './load-redact.js';
import { configSchema } from './schema.js';
import { closest, kamailioHint } from './suggest.js';

// Schema problems said in the words of the file: one message per problem at its config path,
// with "did you mean", what was expected and what was found.

type Path = readonly PropertyKey[];

// ----------------------------------------------------------------------------- schema walk

interface Def {
  readonly type: string;
  readonly innerType?: SchemaLike;
  readonly shape?: Record<string, SchemaLike>;
  readonly valueType?: SchemaLike;
  readonly options?: readonly SchemaLike[];
  readonly element?: SchemaLike;
  readonly in?: SchemaLike;
}
interface SchemaLike {
  readonly def: Def;
}

/** The object schemas reachable at a config path (through optional, union, record, array, pipe). */
function objectsAt(schema: SchemaLike, path: Path): SchemaLike[] {
  const unwrap = (s: SchemaLike): SchemaLike[] => {
    const d = s.def;
    switch (d.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
        return d.innerType === undefined ? [] : unwrap(d.innerType);
      case 'pipe':
        return d.in === undefined ? [] : unwrap(d.in);
      case 'union':
        return (d.options ?? []).flatMap(unwrap);
      default:
        return [s];
    }
  };
  let cur = unwrap(schema);
  for (const seg of path) {
    const next: SchemaLike[] = [];
    for (const s of cur) {
      const d = s.def;
      if (d.type === 'object' && typeof seg === 'string' && d.shape?.[seg] !== undefined)
        next.push(...unwrap(d.shape[seg]));
      else if (d.type === 'record' && d.valueType !== undefined) next.push(...unwrap(d.valueType));
      else if (d.type === 'array' && typeof seg === 'number' && d.element !== undefined)
        next.push(...unwrap(d.element));
    }
    cur = next;
  }
  return cur.filter((s) => s.def.type === 'object');
}

/** The keys the schema knows at a path (for "did you mean"). */
export function knownKeys(path: Path): string[] {
  const keys = new Set<string>();
  for (const o of objectsAt(configSchema as unknown as SchemaLike, path))
    for (const k of Object.keys(o.def.shape ?? {})) keys.add(k);
  return [...keys];
}

// ----------------------------------------------------------------------------- issues

export interface FlatIssue {
  readonly path: Path;
  readonly message: string;
  readonly atKey: boolean;
}

/** True when a union branch failed only because the value is of another type. */
function typeMismatchOnly(errors: readonly z.core.$ZodIssue[]): boolean {
  return errors.every(
    (e) =>
      e.path.length === 0 &&
      (e.code === 'invalid_type' ||
        e.code === 'invalid_value' ||
        (e.code === 'invalid_union' && e.errors.every(typeMismatchOnly))),
  );
}

export function flatten(
  issues: readonly z.core.$ZodIssue[],
  prefix: Path,
  out: FlatIssue[],
  env: EnvRedaction,
): void {
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    switch (iss.code) {
      case 'invalid_union': {
        const branches = iss.errors.filter((e) => !typeMismatchOnly(e));
        const first = branches[0];
        if (first !== undefined) flatten(first, path, out, env);
        else
          out.push({
            path,
            message: withGot(iss.message, iss.input, true, path, env),
            atKey: false,
          });
        break;
      }
      case 'invalid_key': {
        const inner = iss.issues[0];
        out.push({
          path,
          message:
            inner === undefined
              ? iss.message
              : `bad name '${String(iss.path[iss.path.length - 1])}': ${inner.message}`,
          atKey: true,
        });
        break;
      }
      case 'invalid_element': {
        flatten(iss.issues, path, out, env);
        break;
      }
      case 'unrecognized_keys': {
        const known = knownKeys(path);
        for (const key of iss.keys) {
          const near = closest(key, known);
          const hint = kamailioHint(key);
          let m = `unknown key '${key}'`;
          if (near !== undefined) m += ` (did you mean '${near}'?)`;
          else if (hint !== undefined) m += `: ${hint}`;
          if (near === undefined && known.length > 0 && known.length <= 16)
            m += `; expected one of: ${known.join(', ')}`;
          out.push({ path: [...path, key], message: m, atKey: true });
        }
        break;
      }
      case 'custom':
        out.push({ path, message: iss.message, atKey: false });
        break;
      default: {
        let message = withGot(iss.message, iss.input, 'input' in iss, path, env);
        const src = env.at(path);
        // an unquoted reference is typed by YAML: a secret of digits arrives as a number
        if (
          src !== undefined &&
          iss.code === 'invalid_type' &&
          iss.expected === 'string' &&
          typeof iss.input !== 'string'
        )
          message += `; quote it ("${src.written}") to keep the text as a string`;
        out.push({ path, message, atKey: false });
      }
    }
  }
}

function withGot(
  message: string,
  input: unknown,
  hasInput: boolean,
  path: Path,
  env: EnvRedaction,
): string {
  if (!hasInput || input === undefined) return `missing: ${message}`;
  // "expected …, got an empty string" already says what it got
  if (/, got [^,]*$/.test(message)) return message;
  return `${message}, got ${env.describe(path, input)}`;
}

/** Schema problems in the words of a file's (did you mean, got …), without positions (cfg.ts). */
export function explainIssues(
  issues: readonly z.core.$ZodIssue[],
): { path: Path; message: string }[] {
  const flat: FlatIssue[] = [];
  flatten(issues, [], flat, new EnvRedaction([]));
  return flat;
}

export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}
