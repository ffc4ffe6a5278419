import type { Pos } from './ast.js';
import { CfgError } from './errors.js';
import { nearest } from './names.js';

/** Options of the preprocessor. */
export interface PreprocessOptions {
  /** `-A NAME` / `-A NAME=VALUE` defines from the command line. */
  readonly defines?: readonly string[] | undefined;
  /** Where `#!defenv` reads (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** A `#!subst` rule. */
interface SubstRule {
  readonly re: RegExp;
  readonly repl: string;
  /** The rule's expression as written (a name, usually), for hints. */
  readonly name: string;
}

/** One `#!ifdef` / `#!ifndef` region being read. */
export interface Cond {
  /** This branch is taken. */
  active: boolean;
  /** Some branch of this #!ifdef was taken already / we are in #!else. */
  sawElse: boolean;
  /** The enclosing region is active. */
  readonly parent: boolean;
  readonly pos: Pos;
}

/** Compatibility markers on the first line (`#!KAMAILIO`): no effect. */
const MARKERS = new Set(['KAMAILIO', 'OPENSER', 'SER', 'ALL', 'MAXCOMPAT']);

const DIRECTIVES = [
  'define',
  'trydef',
  'redefine',
  'undef',
  'ifdef',
  'ifndef',
  'else',
  'endif',
  'subst',
  'substdef',
  'substdefs',
  'defenv',
  'defenvs',
  'trydefenv',
  'trydefenvs',
  'include_file',
  'import_file',
];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Fail = (pos: Pos, message: string) => never;

/**
 * The state of Kamailio's preprocessor (`ppcfg.c`) while the lexer reads: the defines (`#!define`,
 * `#!defenv`, `-A`), the `#!ifdef` regions open now, and the `#!subst` rules. The lexer finds the
 * directive lines and the identifiers; this decides what they mean.
 */
export class Preprocessor {
  /** The defines now: name → value (undefined: defined without a value). */
  readonly defines = new Map<string, string | undefined>();
  readonly #conds: Cond[] = [];
  readonly #substs: SubstRule[] = [];
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #fail: Fail;

  /** @throws CfgError for a `-A` define that is not NAME or NAME=VALUE. */
  constructor(opts: PreprocessOptions, fail: Fail) {
    this.#env = opts.env ?? process.env;
    this.#fail = fail;
    this.defines.set('FLOWGATE', undefined);
    for (const d of opts.defines ?? []) {
      const eq = d.indexOf('=');
      const name = eq < 0 ? d : d.slice(0, eq);
      const value = eq < 0 ? undefined : d.slice(eq + 1);
      if (!NAME.test(name))
        throw new CfgError([
          {
            file: 'command line',
            line: 1,
            col: 1,
            message: `-A ${d}: a define is NAME or NAME=VALUE (letters, digits, _)`,
          },
        ]);
      this.defines.set(name, value);
    }
  }

  /** How many `#!ifdef` regions are open (a file must close those it opens). */
  get depth(): number {
    return this.#conds.length;
  }

  /** The innermost open region. */
  get innermost(): Cond | undefined {
    return this.#conds[this.#conds.length - 1];
  }

  /** Whether the text being read now counts (every enclosing region is taken). */
  active(): boolean {
    const c = this.innermost;
    return c === undefined || (c.active && c.parent);
  }

  /** Names the `#!subst` rules match (as written). */
  get substNames(): readonly string[] {
    return this.#substs.map((s) => s.name);
  }

  /** Applies the `#!subst` rules to a token's text. */
  subst(s: string): string {
    let out = s;
    for (const r of this.#substs) out = out.replace(r.re, r.repl);
    return out;
  }

  /**
   * One directive line: `word` and the rest of the line `arg` (trimmed). `condDepth` is
   * {@link depth} when the current file was entered; `include` reads an `include_file`.
   */
  directive(
    word: string,
    arg: string,
    pos: Pos,
    argPos: Pos,
    condDepth: number,
    include: (word: string, path: string, pos: Pos) => void,
  ): void {
    // conditionals are followed even inside a skipped region
    switch (word) {
      case 'ifdef':
      case 'ifndef': {
        const name = this.#name(arg, argPos, word);
        const parent = this.active();
        const has = this.defines.has(name);
        this.#conds.push({ active: word === 'ifdef' ? has : !has, sawElse: false, parent, pos });
        return;
      }
      case 'else': {
        const c = this.innermost;
        if (c === undefined || c.sawElse)
          this.#fail(pos, `#!else without #!ifdef${c === undefined ? '' : ' (a second #!else)'}`);
        c.active = !c.active;
        c.sawElse = true;
        return;
      }
      case 'endif': {
        if (this.#conds.length <= condDepth) this.#fail(pos, '#!endif without #!ifdef');
        this.#conds.pop();
        return;
      }
      case 'ifexp':
        if (this.active())
          this.#fail(pos, '#!ifexp is not supported by flowgate: use #!ifdef / #!ifndef');
        // a skipped #!ifexp still opens a region
        this.#conds.push({ active: false, sawElse: true, parent: false, pos });
        return;
      default:
        break;
    }
    if (!this.active()) return;
    if (MARKERS.has(word.toUpperCase()) && arg === '') return;
    switch (word) {
      case 'define':
      case 'trydef':
      case 'redefine': {
        const dm = /^([A-Za-z_][A-Za-z0-9_]*)(?:\s+([\s\S]*))?$/.exec(arg);
        if (dm === null)
          this.#fail(argPos, `#!${word}: expected a name (letters, digits, _), got '${arg}'`);
        const name = dm[1] as string;
        const value = dm[2]?.trim() === '' ? undefined : dm[2]?.trim();
        if (word === 'trydef' && this.defines.has(name)) return;
        if (word === 'define' && this.defines.has(name) && name !== 'FLOWGATE')
          this.#fail(argPos, `#!define ${name}: already defined (use #!redefine or #!trydef)`);
        this.defines.set(name, value);
        return;
      }
      case 'undef':
        this.defines.delete(this.#name(arg, argPos, word));
        return;
      case 'subst':
      case 'substdef':
      case 'substdefs': {
        const rule = parseSubst(arg, argPos, word, this.#fail);
        this.#substs.push(rule.rule);
        if (word !== 'subst') {
          if (!NAME.test(rule.rule.name))
            this.#fail(
              argPos,
              `#!${word}: the expression must be a name to define, got '${rule.rule.name}'`,
            );
          this.defines.set(
            rule.rule.name,
            word === 'substdefs' ? JSON.stringify(rule.text) : rule.text,
          );
        }
        return;
      }
      case 'defenv':
      case 'defenvs':
      case 'trydefenv':
      case 'trydefenvs': {
        const em = /^(?:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?([A-Za-z_][A-Za-z0-9_]*)$/.exec(arg);
        if (em === null)
          this.#fail(argPos, `#!${word}: expected ENVVAR or NAME=ENVVAR, got '${arg}'`);
        const env = em[2] as string;
        const name = em[1] ?? env;
        const v = this.#env[env];
        if (v === undefined) {
          if (word.startsWith('try')) return;
          this.#fail(
            argPos,
            `#!${word}: the environment variable ${env} is not set (use #!try${word.slice(0, 6)}${word.endsWith('s') ? 's' : ''} to make it optional)`,
          );
        }
        if (word.startsWith('try') && this.defines.has(name)) return;
        this.defines.set(name, word.endsWith('s') ? JSON.stringify(v) : v);
        return;
      }
      case 'include_file':
      case 'import_file': {
        const q = /^"([^"]*)"$|^'([^']*)'$|^(\S+)$/.exec(arg);
        const p = q?.[1] ?? q?.[2] ?? q?.[3];
        if (p === undefined) this.#fail(argPos, `#!${word}: expected a quoted file name`);
        include(word, p, argPos);
        return;
      }
      default: {
        const near = nearest(word, DIRECTIVES);
        this.#fail(
          pos,
          `unknown preprocessor directive #!${word}${near === undefined ? '' : ` (did you mean #!${near}?)`}`,
        );
      }
    }
  }

  #name(arg: string, pos: Pos, word: string): string {
    if (!NAME.test(arg))
      this.#fail(pos, `#!${word}: expected one name (letters, digits, _), got '${arg}'`);
    return arg;
  }
}

/** `"/REGEX/REPLACEMENT/FLAGS"`: the delimiter is the first character. */
function parseSubst(
  arg: string,
  pos: Pos,
  word: string,
  fail: Fail,
): { rule: SubstRule; text: string } {
  let s = arg;
  const q = /^"((?:[^"\\]|\\.)*)"$|^'((?:[^'\\]|\\.)*)'$/.exec(s);
  if (q !== null) s = q[1] ?? q[2] ?? '';
  const d = s[0];
  if (d === undefined || /[A-Za-z0-9\\\s]/.test(d))
    fail(pos, `#!${word}: expected "/REGEX/REPLACEMENT/FLAGS", got '${arg}'`);
  const parts: string[] = [];
  let cur = '';
  for (let i = 1; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch === '\\' && s[i + 1] === d) {
      cur += d;
      i++;
    } else if (ch === d) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  if (parts.length !== 3)
    fail(pos, `#!${word}: expected "${d}REGEX${d}REPLACEMENT${d}FLAGS", got '${arg}'`);
  const [re, repl, flags] = parts as [string, string, string];
  if (/[^gi]/.test(flags)) fail(pos, `#!${word}: unknown flag in '${flags}' (flags are g and i)`);
  let rx: RegExp;
  try {
    rx = new RegExp(re, flags.includes('i') ? (flags.includes('g') ? 'gi' : 'i') : flags);
  } catch (e) {
    fail(pos, `#!${word}: bad regular expression '${re}': ${(e as Error).message}`);
  }
  // \1 … \9 back-references; a literal $ stays literal
  const js = repl
    .replace(/\$/g, '$$$$')
    .replace(/\\(\d)/g, '$$$1')
    .replace(/\\(.)/g, '$1');
  return { rule: { re: rx, repl: js, name: re }, text: repl };
}
