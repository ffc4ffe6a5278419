import { dirname, isAbsolute, resolve } from 'node:path';
import type { CfgNote, Pos, PvRef, SelectRef } from './ast.js';
import { CfgError, issueAt } from './errors.js';
import { type Cond, type PreprocessOptions, Preprocessor } from './preprocessor.js';

export type { PreprocessOptions } from './preprocessor.js';

/** Token kinds of the configuration language. */
export type TokKind = 'id' | 'num' | 'str' | 'pv' | 'select' | 'op' | 'eof';

export interface Token {
  readonly kind: TokKind;
  /** Identifier, operator, string value (escapes processed), the PV / select as written. */
  readonly text: string;
  /** `num`: the value. */
  readonly num?: number;
  readonly pv?: PvRef;
  readonly sel?: SelectRef;
  readonly pos: Pos;
  /** True when the token starts a line (after a newline, or first in its file). */
  readonly lineStart: boolean;
}

/** How the lexer reads files (tests pass an in-memory file system). */
export interface SourceReader {
  /** The file's text, or undefined when there is no such file. */
  read(path: string): string | undefined;
  /** How a path is named in messages. */
  display(path: string): string;
}

type Frame =
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly shown: string;
      readonly text: string;
      i: number;
      line: number;
      col: number;
      lineStart: boolean;
      /** Depth of the conditional stack when the file was entered. */
      readonly condDepth: number;
    }
  | {
      readonly kind: 'macro';
      readonly name: string;
      readonly text: string;
      i: number;
      readonly origin: Pos;
      readonly lineStart: boolean;
    };

const OPS = [
  '<<',
  '>>',
  '==',
  '!=',
  '=~',
  '!~',
  '<=',
  '>=',
  '&&',
  '||',
  ':=',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ',',
  ';',
  ':',
  '=',
  '<',
  '>',
  '!',
  '+',
  '-',
  '*',
  '/',
  '%',
  '|',
  '&',
  '^',
  '~',
  '.',
] as const;

const ID_START = /[A-Za-z_]/;
const ID_CHAR = /[A-Za-z0-9_]/;
const MAX_MACRO_DEPTH = 32;
const MAX_INCLUDE_DEPTH = 16;

/**
 * Kamailio's lexer and preprocessor in one pass (`cfg.lex`, `ppcfg.c`): comments (`#`, `//`,
 * `/* *\/`), directives at the start of a line (`#!` or `!!`: define, ifdef/ifndef/else/endif,
 * subst/substdef, defenv, include_file/import_file), `#!define` values substituted for
 * identifiers, `#!subst` rules applied to every later string literal, identifier and
 * pseudo-variable, and `include_file` / `import_file` statements anywhere.
 * @throws CfgError at the first lexical or preprocessor error.
 */
export class CfgLexer {
  readonly #reader: SourceReader;
  readonly #frames: Frame[] = [];
  readonly #pp: Preprocessor;
  readonly #files: string[] = [];
  readonly notes: CfgNote[] = [];
  #lastPos: Pos;

  constructor(mainPath: string, reader: SourceReader, opts: PreprocessOptions = {}) {
    this.#reader = reader;
    this.#pp = new Preprocessor(opts, (pos, message) => this.#fail(pos, message));
    const shown = reader.display(mainPath);
    this.#lastPos = { file: shown, line: 1, col: 1 };
    const text = reader.read(mainPath);
    if (text === undefined)
      throw new CfgError([
        { file: shown, line: 1, col: 1, message: 'cannot read the configuration: no such file' },
      ]);
    this.#pushFile(mainPath, shown, this.#firstLine(text, shown));
  }

  /** Every file read so far (display names). */
  get files(): readonly string[] {
    return this.#files;
  }

  /** The defines now. */
  get defines(): ReadonlyMap<string, string | undefined> {
    return this.#pp.defines;
  }

  /** Names the `#!subst` rules match (as written). */
  get substNames(): readonly string[] {
    return this.#pp.substNames;
  }

  /** Position of the last token returned (for errors at the end of input). */
  get lastPos(): Pos {
    return this.#lastPos;
  }

  /** Adds a define (the parser does for `loadmodule`: `MOD_tm`). */
  define(name: string, value?: string): void {
    if (!this.#pp.defines.has(name)) this.#pp.defines.set(name, value);
  }

  /** The seed's Example 1.2 begins "MAILIO" (a truncated `#!KAMAILIO`): read it as the marker. */
  #firstLine(text: string, shown: string): string {
    const m = /^(\s*)MAILIO[ \t]*(\r?\n|$)/.exec(text);
    if (m === null) return text;
    const line = (m[1] ?? '').split('\n').length;
    this.notes.push({
      pos: { file: shown, line, col: 1 },
      message:
        'a first line "MAILIO" (the seed\'s truncated #!KAMAILIO) is read as #!KAMAILIO; Kamailio itself reports a syntax error there',
    });
    return `${m[1] ?? ''}#!KAMAILIO${text.slice((m[1] ?? '').length + 'MAILIO'.length)}`;
  }

  #pushFile(path: string, shown: string, text: string): void {
    if (this.#frames.filter((f) => f.kind === 'file').length >= MAX_INCLUDE_DEPTH)
      throw new CfgError([
        issueAt(this.#lastPos, `include_file: more than ${MAX_INCLUDE_DEPTH} nested includes`),
      ]);
    if (this.#frames.some((f) => f.kind === 'file' && f.path === path))
      throw new CfgError([issueAt(this.#lastPos, `include_file: ${shown} includes itself`)]);
    this.#files.push(shown);
    this.#frames.push({
      kind: 'file',
      path,
      shown,
      text,
      i: 0,
      line: 1,
      col: 1,
      lineStart: true,
      condDepth: this.#pp.depth,
    });
  }

  #pos(f: Frame): Pos {
    return f.kind === 'file' ? { file: f.shown, line: f.line, col: f.col } : f.origin;
  }

  #fail(pos: Pos, message: string): never {
    throw new CfgError([issueAt(pos, message)]);
  }

  /** Advances one character of the top frame. */
  #adv(f: Frame, n = 1): void {
    for (let k = 0; k < n; k++) {
      const ch = f.text[f.i];
      f.i++;
      if (f.kind !== 'file') continue;
      if (ch === '\n') {
        f.line++;
        f.col = 1;
        f.lineStart = true;
      } else f.col++;
    }
  }

  /** Skips whitespace and comments; false when the frame ended. */
  #skip(f: Frame): boolean {
    for (;;) {
      if (f.i >= f.text.length) return false;
      const ch = f.text[f.i] as string;
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
        this.#adv(f);
        continue;
      }
      if (
        f.kind === 'file' &&
        f.lineStart &&
        (f.text.startsWith('#!', f.i) || f.text.startsWith('!!', f.i))
      ) {
        this.#directive(f);
        continue;
      }
      if (!this.#pp.active()) {
        this.#skipLine(f);
        continue;
      }
      if (ch === '#' || f.text.startsWith('//', f.i)) {
        this.#skipLine(f);
        continue;
      }
      if (f.text.startsWith('/*', f.i)) {
        const start = this.#pos(f);
        const end = f.text.indexOf('*/', f.i + 2);
        if (end < 0) this.#fail(start, 'unterminated comment: /* without */');
        this.#adv(f, end + 2 - f.i);
        continue;
      }
      return true;
    }
  }

  #skipLine(f: Frame): void {
    while (f.i < f.text.length && f.text[f.i] !== '\n') this.#adv(f);
  }

  /** The rest of the line (with `\` continuations), advancing past it. */
  #restOfLine(f: Frame & { kind: 'file' }): string {
    let out = '';
    for (;;) {
      let end = f.text.indexOf('\n', f.i);
      if (end < 0) end = f.text.length;
      let line = f.text.slice(f.i, end);
      this.#adv(f, end - f.i);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.endsWith('\\') && f.i < f.text.length) {
        out += `${line.slice(0, -1)}\n`;
        this.#adv(f); // the newline
        continue;
      }
      return out + line;
    }
  }

  #directive(f: Frame): void {
    if (f.kind !== 'file') return;
    const pos = this.#pos(f);
    this.#adv(f, 2);
    const line = this.#restOfLine(f);
    const m = /^([A-Za-z_]+)\s*(.*)$/s.exec(line);
    const word = m?.[1] ?? '';
    const arg = (m?.[2] ?? '').trim();
    const argPos: Pos = { ...pos, col: pos.col + 2 + line.indexOf(arg === '' ? word : arg) };
    this.#pp.directive(word, arg, pos, argPos, f.condDepth, (w, p, at) =>
      this.#include(w, p, at, f.path),
    );
  }

  #include(word: string, p: string, pos: Pos, from: string): void {
    const candidates = isAbsolute(p) ? [p] : [resolve(dirname(from), p), resolve(p)];
    for (const c of candidates) {
      const text = this.#reader.read(c);
      if (text !== undefined) {
        this.#pushFile(c, this.#reader.display(c), text);
        return;
      }
    }
    if (word === 'import_file') return;
    this.#fail(pos, `${word}: no such file ${p} (looked in ${candidates.join(', ')})`);
  }

  /** Applies the `#!subst` rules to a token's text. */
  subst(s: string): string {
    return this.#pp.subst(s);
  }

  /** The top frame, after dropping finished macro frames. */
  #top(): Frame | undefined {
    for (;;) {
      const f = this.#frames[this.#frames.length - 1];
      if (f === undefined || f.kind === 'file' || f.i < f.text.length) return f;
      this.#frames.pop();
    }
  }

  /** The next token. */
  next(): Token {
    for (;;) {
      const f = this.#frames[this.#frames.length - 1];
      if (f === undefined) return { kind: 'eof', text: '', pos: this.#lastPos, lineStart: true };
      if (!this.#skip(f)) {
        if (f.kind === 'file' && this.#pp.depth > f.condDepth) {
          const c = this.#pp.innermost as Cond;
          this.#fail(c.pos, `#!ifdef / #!ifndef without #!endif (${f.shown} ends first)`);
        }
        this.#frames.pop();
        continue;
      }
      const t = this.#token(f);
      if (t === undefined) continue;
      this.#lastPos = t.pos;
      return t;
    }
  }

  /** Raw text up to (not including) one of `stops` on the same line; for route names. */
  raw(stops: string): { text: string; pos: Pos } {
    const f = this.#top();
    if (f === undefined) return { text: '', pos: this.#lastPos };
    while (f.i < f.text.length && (f.text[f.i] === ' ' || f.text[f.i] === '\t')) this.#adv(f);
    const pos = this.#pos(f);
    let text = '';
    while (f.i < f.text.length && !stops.includes(f.text[f.i] as string) && f.text[f.i] !== '\n') {
      text += f.text[f.i];
      this.#adv(f);
    }
    return { text: text.trim(), pos };
  }

  /**
   * The rest of a line after `name=` (a global's value): without a trailing comment (`#` outside
   * quotes) or `;`, with `#!subst` rules applied and defines substituted for whole words.
   */
  rawLine(): { text: string; quoted: boolean; pos: Pos } {
    const f = this.#top();
    if (f === undefined) return { text: '', quoted: false, pos: this.#lastPos };
    while (f.i < f.text.length && (f.text[f.i] === ' ' || f.text[f.i] === '\t')) this.#adv(f);
    const pos = this.#pos(f);
    let raw = '';
    let quote: string | undefined;
    while (f.i < f.text.length) {
      const ch = f.text[f.i] as string;
      if (ch === '\n') break;
      if (quote === undefined && (ch === '#' || ch === ';' || f.text.startsWith('//', f.i))) break;
      if (ch === '"' || ch === "'") {
        if (quote === undefined) quote = ch;
        else if (quote === ch) quote = undefined;
      } else if (ch === '\\' && quote !== undefined) {
        raw += ch;
        this.#adv(f);
      }
      raw += f.text[f.i] ?? '';
      this.#adv(f);
    }
    if (quote !== undefined) this.#fail(pos, 'unterminated string');
    // a trailing comment or ';' ends the value; the rest of the line is skipped
    if (f.i < f.text.length && f.text[f.i] !== '\n') this.#skipLine(f);
    const text = raw.trim();
    const qm = /^(["'])([\s\S]*)\1$/.exec(text);
    if (qm !== null)
      return {
        text: this.subst(unescapeString(qm[2] ?? '', pos, (p, m) => this.#fail(p, m))),
        quoted: true,
        pos,
      };
    const words = this.subst(text).replace(/[A-Za-z_][A-Za-z0-9_]*/g, (w) => {
      const v = this.#pp.defines.get(w);
      return v === undefined ? w : v.replace(/^"(.*)"$/s, '$1');
    });
    return { text: words, quoted: false, pos };
  }

  #token(f: Frame): Token | undefined {
    const pos = this.#pos(f);
    const lineStart = f.kind === 'file' ? f.lineStart : f.lineStart && f.i === 0;
    if (f.kind === 'file') f.lineStart = false;
    const s = f.text;
    const ch = s[f.i] as string;
    if (ID_START.test(ch)) {
      let j = f.i + 1;
      while (j < s.length && ID_CHAR.test(s[j] as string)) j++;
      const word = s.slice(f.i, j);
      this.#adv(f, j - f.i);
      return this.#identifier(word, pos, lineStart, f);
    }
    if (/[0-9]/.test(ch)) {
      const m = /^(0[xX][0-9a-fA-F]+|\d+(?:\.\d+)*)/.exec(s.slice(f.i, f.i + 64));
      const text = m?.[1] ?? ch;
      this.#adv(f, text.length);
      if (/^\d+$/.test(text) || /^0[xX]/.test(text))
        return { kind: 'num', text, num: Number(text), pos, lineStart };
      // 10.0.0.1: an address literal, used as a string
      return { kind: 'str', text, pos, lineStart };
    }
    if (ch === '"' || ch === "'") {
      let j = f.i + 1;
      let body = '';
      while (j < s.length && s[j] !== ch) {
        if (s[j] === '\\' && j + 1 < s.length) {
          body += s.slice(j, j + 2);
          j += 2;
        } else {
          body += s[j];
          j++;
        }
      }
      if (j >= s.length) this.#fail(pos, 'unterminated string (no closing quote)');
      this.#adv(f, j + 1 - f.i);
      const text = this.subst(unescapeString(body, pos, (p, m) => this.#fail(p, m)));
      return { kind: 'str', text, pos, lineStart };
    }
    if (ch === '$') return this.#pvToken(f, pos, lineStart);
    if (ch === '@' && ID_START.test(s[f.i + 1] ?? '')) {
      let j = f.i + 1;
      while (j < s.length && /[A-Za-z0-9_.[\]-]/.test(s[j] as string)) {
        // `-` only inside an index: @via[-1]
        if (s[j] === '-' && s[j - 1] !== '[') break;
        j++;
      }
      const text = s.slice(f.i, j);
      this.#adv(f, j - f.i);
      const parts: (string | number)[] = [];
      for (const m of text.slice(1).matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(-?\d+)\]|(\.)|(.)/g)) {
        if (m[1] !== undefined) parts.push(m[1]);
        else if (m[2] !== undefined) parts.push(Number(m[2]));
        else if (m[4] !== undefined) this.#fail(pos, `bad select ${text}`);
      }
      return { kind: 'select', text, sel: { parts, text }, pos, lineStart };
    }
    for (const op of OPS) {
      if (s.startsWith(op, f.i)) {
        this.#adv(f, op.length);
        return { kind: 'op', text: op, pos, lineStart };
      }
    }
    this.#fail(pos, `unexpected character '${ch}'`);
  }

  #identifier(word: string, pos: Pos, lineStart: boolean, f: Frame): Token | undefined {
    const w = this.subst(word);
    if (w !== word) {
      this.#pushMacro(`#!subst of ${word}`, w, pos, lineStart, f);
      return undefined;
    }
    if (word === 'include_file' || word === 'import_file') {
      const t = this.next();
      if (t.kind !== 'str') this.#fail(t.pos, `${word}: expected a quoted file name`);
      const from = [...this.#frames].reverse().find((x) => x.kind === 'file');
      this.#include(word, t.text, t.pos, from?.kind === 'file' ? from.path : '.');
      return undefined;
    }
    const v = this.#pp.defines.get(word);
    if (v !== undefined) {
      this.#pushMacro(word, v, pos, lineStart, f);
      return undefined;
    }
    return { kind: 'id', text: word, pos, lineStart };
  }

  #pushMacro(name: string, text: string, origin: Pos, lineStart: boolean, f: Frame): void {
    const depth = this.#frames.filter((x) => x.kind === 'macro').length;
    if (depth >= MAX_MACRO_DEPTH || (f.kind === 'macro' && f.name === name))
      this.#fail(origin, `#!define ${name} expands to itself`);
    this.#frames.push({ kind: 'macro', name, text, i: 0, origin, lineStart });
  }

  #pvToken(f: Frame, pos: Pos, lineStart: boolean): Token {
    const s = f.text;
    let j = f.i + 1;
    const balanced = (k: number): number => {
      // s[k] is '(' : the index after the matching ')'
      let depth = 0;
      for (let x = k; x < s.length; x++) {
        if (s[x] === '(') depth++;
        else if (s[x] === ')') {
          depth--;
          if (depth === 0) return x + 1;
        } else if (s[x] === '\n') break;
      }
      return -1;
    };
    if (s[j] === '(') {
      j = balanced(j);
      if (j < 0) this.#fail(pos, 'unterminated pseudo-variable $( … ): no closing )');
    } else if (s[j] === '?') j++;
    else {
      if (!ID_START.test(s[j] ?? '')) this.#fail(pos, `'$' must start a pseudo-variable ($name)`);
      while (j < s.length && /[A-Za-z0-9_.]/.test(s[j] as string)) j++;
      if (s[j] === '(') {
        j = balanced(j);
        if (j < 0) this.#fail(pos, 'unterminated pseudo-variable: no closing )');
      }
    }
    const text = this.subst(s.slice(f.i, j));
    this.#adv(f, j - f.i);
    const pv = parsePv(text);
    if (pv === undefined) this.#fail(pos, `cannot read the pseudo-variable ${text}`);
    return { kind: 'pv', text, pv, pos, lineStart };
  }
}

/** Reads `$name`, `$name(arg)`, `$(name(arg)[idx]{tr})`, `$?`. */
export function parsePv(text: string): PvRef | undefined {
  if (text === '$?')
    return { name: '?', arg: undefined, index: undefined, transforms: undefined, text };
  let inner = text.slice(1);
  const wrapped = inner.startsWith('(') && inner.endsWith(')');
  if (wrapped) inner = inner.slice(1, -1);
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)(?:\((.*?)\))?(?:\[(\*|-?\d+)\])?(\{.*\})?$/s.exec(inner);
  if (m === null) return undefined;
  if (!wrapped && (m[3] !== undefined || m[4] !== undefined)) return undefined;
  return {
    name: m[1] as string,
    arg: m[2],
    index: m[3] === undefined ? undefined : m[3] === '*' ? '*' : Number(m[3]),
    transforms: m[4],
    text,
  };
}

/** Escapes of a string literal: `\n \r \t \a \\ \" \' \xHH \NNN`; others keep the backslash. */
function unescapeString(body: string, pos: Pos, fail: (p: Pos, m: string) => never): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[i + 1];
    i++;
    switch (n) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'a':
        out += '\x07';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
      case "'":
        out += n;
        break;
      case '\n':
        // a line continuation inside a string
        break;
      case 'x': {
        const h = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1));
        if (h === null) fail(pos, 'bad escape \\x in a string (expected hex digits)');
        out += String.fromCharCode(Number.parseInt(h[0], 16));
        i += h[0].length;
        break;
      }
      case undefined:
        out += '\\';
        break;
      default:
        if (/[0-7]/.test(n)) {
          const o = /^[0-7]{1,3}/.exec(body.slice(i)) as RegExpExecArray;
          out += String.fromCharCode(Number.parseInt(o[0], 8));
          i += o[0].length - 1;
        } else out += `\\${n}`;
    }
  }
  return out;
}
