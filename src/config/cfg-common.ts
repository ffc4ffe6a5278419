import type { z } from 'zod';
import {
  CfgError,
  type CfgIssue,
  type CfgNote,
  type CompiledCfg,
  type Pos,
} from '../script/cfg/index.js';
import { type ConfigIssue, formatPath } from './errors.js';

// Shared by the `.cfg` loader (cfg.ts), its mapping (cfg-map.ts) and the YAML merge
// (cfg-merge.ts): where a mapped value came from, and problems said at `.cfg` positions.

/** True for a Kamailio configuration file name. */
export function isCfgFile(file: string): boolean {
  return /\.cfg$/i.test(file);
}

export type Path = readonly (string | number)[];

/** Where each value of the built configuration came from in the `.cfg`, and how it is written there. */
export class Origins {
  readonly #m = new Map<string, { pos: Pos; what: string }>();
  readonly #fallback: Pos;

  constructor(fallback: Pos) {
    this.#fallback = fallback;
  }

  set(path: Path, pos: Pos, what: string): void {
    this.#m.set(formatPath(path), { pos, what });
  }

  /** The origin of a path or of its nearest ancestor. */
  get(path: Path): { pos: Pos; what: string | undefined } {
    for (let n = path.length; n >= 0; n--) {
      const o = this.#m.get(formatPath(path.slice(0, n)));
      if (o !== undefined) return o;
    }
    return { pos: this.#fallback, what: undefined };
  }

  has(path: Path): boolean {
    return this.#m.has(formatPath(path));
  }
}

export function issue(pos: Pos, message: string): CfgIssue {
  return { file: pos.file, line: pos.line, col: pos.col, message };
}

export function toCfgIssues(e: unknown): CfgIssue[] {
  if (e instanceof CfgError) return [...e.issues];
  throw e;
}

export function asConfigIssue(i: CfgIssue): ConfigIssue {
  return { file: i.file, line: i.line, col: i.col, path: '', message: i.message };
}

/** A schema problem of a mapped value, said the way the `.cfg` writes it. */
export function schemaIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: Path,
  origins: Origins,
  name: string,
): CfgIssue[] {
  const out: CfgIssue[] = [];
  const walk = (list: readonly z.core.$ZodIssue[], pre: Path): void => {
    for (const iss of list) {
      const path = [...pre, ...iss.path] as (string | number)[];
      if (
        iss.code === 'invalid_union' &&
        iss.errors.length > 0 &&
        iss.errors.some((x) => x.some((y) => y.path.length > 0))
      ) {
        const best = iss.errors.find((x) => x.some((y) => y.path.length > 0)) ?? [];
        walk(best, path);
        continue;
      }
      const generic = [...path];
      if (generic[1] === name) generic[1] = '*';
      const o = origins.get(generic);
      out.push(issue(o.pos, `${o.what === undefined ? formatPath(path) : o.what}: ${iss.message}`));
    }
  };
  walk(issues, prefix);
  return out;
}

export function noteLines(notes: readonly CfgNote[]): string[] {
  return [...notes]
    .sort(
      (a, b) =>
        a.pos.file.localeCompare(b.pos.file) || a.pos.line - b.pos.line || a.pos.col - b.pos.col,
    )
    .map((n) => `${n.pos.file}:${n.pos.line}:${n.pos.col}: ${n.message}`);
}

export function sortCfg(issues: CfgIssue[], c: CompiledCfg): CfgIssue[] {
  const files = c.program.files;
  return issues.sort(
    (a, b) =>
      (files.indexOf(a.file) + 1 || 1e9) - (files.indexOf(b.file) + 1 || 1e9) ||
      a.line - b.line ||
      a.col - b.col,
  );
}
