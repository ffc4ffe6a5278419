import type { Expr, Pos, PvRef } from './ast.js';
import { type Code, code, isMyself, jsString, OP_PREC, P, UNDEF } from './codegen.js';
import { CompilerBase } from './compiler-base.js';
import { HELPERS, posixRegex } from './helpers.js';
import { didYouMean } from './names.js';
import { KEYWORD_PVS, PVS, SELECTS } from './registry.js';

/** The expressions stage: operators, comparisons, pseudo-variables, selects. */
export abstract class ExprCompiler extends CompilerBase {
  /** A function call (the calls stage). */
  protected abstract call(e: Expr & { k: 'call' }, stmt: boolean): Code;
  /** `route(NAME)` as an expression (the calls stage). */
  protected abstract routeCall(e: Expr & { k: 'route' }, stmt: boolean): Code;
  /** A string value's code (the calls stage). */
  protected abstract stringOf(v: Code): string;

  // ------------------------------------------------------------------ expressions

  protected cond(e: Expr): string {
    const v = this.expr(e);
    if (v.t === 'bool') return v.c;
    if (v.t === 'int' && !v.nullable) return `${this.paren(v, P.rel + 1)} > 0`;
    this.helper('cond');
    this.helper('int');
    return `cond(${v.c})`;
  }

  /** The code, in parentheses when it binds less tightly than `min`. */
  protected paren(v: Code, min: number): string {
    return v.p >= min ? v.c : `(${v.c})`;
  }

  /** An integer expression (`int()` for a value of unknown type). */
  protected asInt(v: Code): Code {
    if (v.t === 'int') return v.nullable ? code(`(${v.c} ?? 0)`, 'int') : v;
    if (v.t === 'bool') return code(`(${v.c} ? 1 : 0)`, 'int');
    this.helper('int');
    return code(`int(${v.c})`, 'int');
  }

  /** An operand of && || !: true when not 0 (Kamailio's logical operators, as C). */
  protected asBool(v: Code, min: number): string {
    if (v.t === 'bool') return this.paren(v, min);
    if (v.t === 'int' && !v.nullable)
      return this.paren(code(`${this.paren(v, P.eq + 1)} !== 0`, 'bool', P.eq), min);
    this.helper('truth');
    this.helper('int');
    return `truth(${v.c})`;
  }

  protected int(v: Code, min: number): string {
    return this.paren(this.asInt(v), min);
  }

  protected expr(e: Expr): Code {
    switch (e.k) {
      case 'num':
        return code(e.v < 0 ? `(${e.v})` : String(e.v), 'int');
      case 'str':
        return code(jsString(e.v), 'str');
      case 'pv':
        return this.pv(e.pv, e.pos);
      case 'select':
        return this.select(e);
      case 'id': {
        const pv = KEYWORD_PVS[e.name];
        if (pv !== undefined)
          return this.pv(
            { name: pv, arg: undefined, index: undefined, transforms: undefined, text: e.name },
            e.pos,
          );
        this.unknownName(e.name, e.pos);
        return UNDEF;
      }
      case 'call':
        return this.call(e, false);
      case 'route':
        return this.routeCall(e, false);
      case 'unary': {
        const v = this.expr(e.e);
        if (e.op === '!') return code(`!${this.asBool(v, P.unary)}`, 'bool', P.unary);
        return code(`${e.op}${this.int(v, P.unary)}`, 'int', P.unary);
      }
      case 'bin':
        return this.bin(e);
    }
  }

  protected bin(e: Expr & { k: 'bin' }): Code {
    const op = e.op;
    if (op === '&&' || op === '||') {
      const p = op === '&&' ? P.and : P.or;
      const l = this.expr(e.l);
      const r = this.expr(e.r);
      return code(`${this.asBool(l, p)} ${op} ${this.asBool(r, p + 1)}`, 'bool', p);
    }
    if (op === '=~' || op === '!~') return this.match(e);
    // `uri == myself`
    if ((op === '==' || op === '!=') && (isMyself(e.r) || isMyself(e.l))) {
      const other = isMyself(e.r) ? e.l : e.r;
      const v = this.expr(other);
      this.usesCtx = true;
      const call = `ctx.is_myself(${this.stringOf(v)})`;
      return op === '==' ? code(call, 'bool') : code(`!${call}`, 'bool', P.unary);
    }
    if (op === '==' || op === '!=') return this.equality(e);
    const l = this.expr(e.l);
    const r = this.expr(e.r);
    if (op === '<' || op === '>' || op === '<=' || op === '>=') {
      if ((l.t === 'int' || r.t === 'int') && l.t !== 'str' && r.t !== 'str')
        return code(`${this.int(l, P.rel)} ${op} ${this.int(r, P.rel + 1)}`, 'bool', P.rel);
      this.helper('cmp');
      this.helper('int');
      return code(`cmp(${l.c}, ${r.c}) ${op} 0`, 'bool', P.rel);
    }
    if (op === '+') {
      if (l.t === 'str') {
        const lc = l.nullable ? `(${l.c} ?? '')` : this.paren(l, P.add);
        const rc = r.t === 'str' && !r.nullable ? this.paren(r, P.add + 1) : this.stringOf(r);
        return code(`${lc} + ${rc}`, 'str', P.add);
      }
      if (l.t === 'int' && (r.t === 'int' || r.t === 'bool'))
        return code(`${this.int(l, P.add)} + ${this.int(r, P.add + 1)}`, 'int', P.add);
      this.helper('add');
      this.helper('int');
      return code(`add(${l.c}, ${r.c})`, 'any');
    }
    if (op === '/' || op === '%') {
      this.helper('idiv');
      return code(`idiv(${this.asInt(l).c}, ${this.asInt(r).c}, ${op === '%'})`, 'int');
    }
    const p = OP_PREC[op] ?? P.mul;
    return code(`${this.int(l, p)} ${op} ${this.int(r, p + 1)}`, 'int', p);
  }

  protected equality(e: Expr & { k: 'bin' }): Code {
    const neg = e.op === '!=';
    const isNull = (x: Expr): boolean => x.k === 'pv' && x.pv.name === 'null';
    const cmpOp = neg ? '!==' : '===';
    // `$rU == $null`: undefined takes the other side's type (Kamailio), so "" is null too
    if (isNull(e.l) || isNull(e.r)) {
      const other = isNull(e.r) ? e.l : e.r;
      const v = this.expr(other);
      if (v.t === 'str') return code(`(${v.c} ?? '') ${cmpOp} ''`, 'bool', P.eq);
      if (v.t === 'int') return code(`(${v.c} ?? 0) ${cmpOp} 0`, 'bool', P.eq);
      if (v.t === 'bool') return neg ? v : code(`!${this.paren(v, P.unary)}`, 'bool', P.unary);
      return code(`${this.paren(v, P.eq)} ${cmpOp} undefined`, 'bool', P.eq);
    }
    const l = this.expr(e.l);
    const r = this.expr(e.r);
    if (l.t === 'str' && r.t === 'str') {
      // a non-empty literal on one side: undefined cannot equal it, no default needed
      const lit = (x: Expr): boolean => x.k === 'str' && x.v !== '';
      const lc = l.nullable && !lit(e.r) ? `(${l.c} ?? '')` : this.paren(l, P.eq);
      const rc = r.nullable && !lit(e.l) ? `(${r.c} ?? '')` : this.paren(r, P.eq + 1);
      return code(`${lc} ${cmpOp} ${rc}`, 'bool', P.eq);
    }
    if ((l.t === 'int' || l.t === 'bool') && (r.t === 'int' || r.t === 'bool'))
      return code(`${this.int(l, P.eq)} ${cmpOp} ${this.int(r, P.eq + 1)}`, 'bool', P.eq);
    this.helper('eq');
    this.helper('int');
    return neg ? code(`!eq(${l.c}, ${r.c})`, 'bool', P.unary) : code(`eq(${l.c}, ${r.c})`, 'bool');
  }

  protected match(e: Expr & { k: 'bin' }): Code {
    const l = this.expr(e.l);
    this.usesCtx = true;
    let re: string;
    if (e.r.k === 'str') {
      const r = posixRegex(e.r.v);
      if (!r.ok) {
        this.err(e.r.pos, `bad regular expression "${e.r.v}": ${r.message}`);
        re = 'undefined';
      } else re = this.regex(r.source);
    } else {
      const r = this.expr(e.r);
      re = `String(${r.c} ?? '')`;
    }
    const c = `ctx.match(${l.c}, ${re})`;
    return e.op === '=~' ? code(c, 'bool') : code(`!${c}`, 'bool', P.unary);
  }

  /** A case-insensitive regular expression constant (compiled once, at load). */
  protected regex(source: string): string {
    let name = this.regexes.get(source);
    if (name === undefined) {
      name = `RE_${this.regexes.size + 1}`;
      this.regexes.set(source, name);
      const lit = `new RegExp(${jsString(source)}, 'i')`;
      this.helpers.set(name, { ts: `const ${name} = ${lit};`, js: `const ${name} = ${lit};` });
    }
    return name;
  }

  protected helper(name: string): void {
    const h = HELPERS[name];
    if (h !== undefined && !this.helpers.has(name)) this.helpers.set(name, h);
  }

  protected select(e: Expr & { k: 'select' }): Code {
    const [first, ...rest] = e.sel.parts;
    if (typeof first === 'string' && SELECTS.includes(first)) {
      const n = rest.length === 0 ? 1 : rest[0];
      if (rest.length <= 1 && typeof n === 'number' && n >= 1) {
        this.usesCtx = true;
        return { c: `ctx.via(${n})`, t: 'str', nullable: true, p: P.atom };
      }
    }
    this.err(
      e.pos,
      `the select ${e.sel.text} is not supported by flowgate (it has @via[N]; for a header use $hdr(Name))`,
    );
    return UNDEF;
  }

  protected unknownName(name: string, pos: Pos): void {
    if (/^[A-Z][A-Z0-9_]*$/.test(name)) {
      const known = [...this.prog.defines.keys(), ...this.prog.substNames];
      this.err(
        pos,
        `'${name}' is not defined: no #!define, #!substdef or -A defines it${didYouMean(name, known)}`,
      );
      return;
    }
    this.err(
      pos,
      `unknown name '${name}' (a value is a "string", a number, a $variable or a function call)${didYouMean(name, Object.keys(KEYWORD_PVS))}`,
    );
  }

  protected unknownPv(pv: PvRef, pos: Pos): void {
    this.err(
      pos,
      `unknown pseudo-variable ${pv.text}${didYouMean(
        `$${pv.name}`,
        Object.keys(PVS).map((n) => `$${n}`),
      )}`,
    );
  }

  /** Shape checks: argument, index, transformations. */
  protected checkPvShape(pv: PvRef, pos: Pos, wantsArg: boolean): boolean {
    if (pv.transforms !== undefined) {
      this.err(
        pos,
        `transformations (${pv.transforms} in ${pv.text}) are not supported by flowgate`,
      );
      return false;
    }
    if (wantsArg && (pv.arg === undefined || pv.arg === '')) {
      this.err(pos, `$${pv.name} needs a name in parentheses: $${pv.name}(name)`);
      return false;
    }
    if (!wantsArg && pv.arg !== undefined) {
      this.err(pos, `$${pv.name} takes no name in parentheses (${pv.text})`);
      return false;
    }
    if (pv.index !== undefined && pv.name !== 'hdr') {
      this.err(pos, `an index [${pv.index}] is supported on $(hdr(Name)[N]) only (${pv.text})`);
      return false;
    }
    return true;
  }

  protected pv(pv: PvRef, pos: Pos): Code {
    const d = PVS[pv.name];
    if (d === undefined) {
      this.unknownPv(pv, pos);
      return UNDEF;
    }
    if (!this.checkPvShape(pv, pos, d.arg === true)) return UNDEF;
    if (pv.name === 'null') return UNDEF;
    this.usesCtx = true;
    if (pv.name === 'avp') this.helper('avps');
    let c = d.read.replace('A', pv.arg === undefined ? '' : jsString(pv.arg));
    if (pv.name === 'hdr' && pv.index !== undefined)
      c = `ctx.$hdr(${jsString(pv.arg ?? '')}, ${pv.index === '*' ? "'*'" : pv.index})`;
    const nullable = ![
      'rc',
      'retcode',
      '?',
      'si',
      'sp',
      'Ri',
      'Rp',
      'pr',
      'proto',
      'T_reply_ruid',
    ].includes(pv.name);
    return { c, t: d.type, nullable, p: P.atom };
  }
}
