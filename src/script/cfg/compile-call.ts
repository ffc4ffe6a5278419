import type { Expr, Pos, PvRef, RouteBlock } from './ast.js';
import { ALL_KINDS, type Code, code, jsString, P, parsePvText } from './codegen.js';
import { ExprCompiler } from './compile-expr.js';
import type { RouteInfo } from './compiler-base.js';
import { posixRegex } from './helpers.js';
import { didYouMean } from './names.js';
import {
  type ArgKind,
  type CfgFunction,
  FUNCTIONS,
  PVS,
  UNSUPPORTED_FUNCTIONS,
  XLOG_LEVELS,
  XLOG_SHORTHANDS,
} from './registry.js';

/**
 * The calls stage: module functions and route() calls, each checked against the module
 * registry's view (module loaded, usable in this route, argument count and kinds).
 */
export abstract class CallCompiler extends ExprCompiler {
  // ------------------------------------------------------------------ calls

  protected routeCall(e: Expr & { k: 'route' }, stmt: boolean): Code {
    this.usesCtx = true;
    let nameCode: string;
    let target: RouteBlock | undefined;
    if (typeof e.name === 'string') {
      target = this.named.get(e.name);
      if (target === undefined) {
        this.err(
          e.pos,
          `route(${e.name}): there is no route[${e.name}]${didYouMean(e.name, [...this.named.keys()])}`,
        );
      }
      nameCode = jsString(e.name);
    } else {
      const v = this.expr(e.name);
      nameCode = v.t === 'str' && !v.nullable ? v.c : `String(${v.c} ?? '')`;
    }
    const isAsync =
      target !== undefined
        ? this.async.has(target)
        : [...this.named.values()].some((b) => this.async.has(b));
    const call = `${isAsync ? 'await ' : ''}ctx.route(${nameCode})`;
    if (stmt) return { c: call, t: 'bool', nullable: false, p: P.atom };
    // as a value: the route's return code (its last function's code when it has no return)
    return {
      c: `(${isAsync ? `(${call})` : call}, ctx.$rc > 0)`,
      t: 'bool',
      nullable: false,
      p: P.atom,
    };
  }

  protected call(e: Expr & { k: 'call' }, stmt: boolean): Code {
    const f = FUNCTIONS[e.name];
    const fail = (): Code => code('false', 'bool');
    if (f === undefined) {
      const why = UNSUPPORTED_FUNCTIONS[e.name];
      if (why !== undefined) this.err(e.pos, `${e.name}() is not supported by flowgate: ${why}`);
      else if (['route', 'exit', 'drop', 'return', 'break'].includes(e.name))
        this.err(e.pos, `${e.name} is a statement here`);
      else
        this.err(
          e.pos,
          `unknown function '${e.name}'${didYouMean(e.name, Object.keys(FUNCTIONS))}`,
        );
      return fail();
    }
    const cur = this.cur as RouteInfo;
    if (f.module !== 'core' && !this.modules.has(f.module)) {
      this.err(
        e.pos,
        `${e.name}() is in module ${f.module}, which this file does not load: add loadmodule "${f.module}.so"`,
      );
      return fail();
    }
    const allowed = f.routes ?? ALL_KINDS;
    if (!allowed.includes(cur.kind)) {
      const where =
        cur.kind === 'xhttp'
          ? 'event_route[xhttp:request]'
          : cur.kind === 'reply'
            ? 'onreply_route'
            : cur.kind === 'failure'
              ? 'failure_route'
              : cur.kind === 'branch-failure'
                ? 'event_route[tm:branch-failure]'
                : cur.kind === 'event'
                  ? 'this event_route'
                  : 'request routes';
      this.err(
        e.pos,
        f.routes?.length === 1 && f.routes[0] === 'xhttp'
          ? `${e.name}() can be used only in event_route[xhttp:request]`
          : `${e.name}() cannot be used in ${where}`,
      );
      return fail();
    }
    const max = f.args.length;
    const min = max - (f.optional ?? 0);
    if (e.args.length < min || e.args.length > max) {
      const n = min === max ? `${max}` : `${min} to ${max}`;
      this.err(
        e.pos,
        `wrong number of arguments: ${e.name}() takes ${n} argument${max === 1 && min === max ? '' : 's'}, got ${e.args.length}`,
      );
      return fail();
    }
    const args: string[] = [];
    // xlog("format"): one argument is the format (logged at L_ERR)
    const fa: CfgFunction =
      e.name === 'xlog' && e.args.length === 1 ? { ...f, args: ['fmt'], formats: [0] } : f;
    for (let i = 0; i < e.args.length; i++) {
      const a = this.arg(e.name, fa, i, e.args[i] as Expr);
      if (a === undefined) return fail();
      args.push(a);
    }
    this.usesCtx = true;
    let method = f.method ?? e.name;
    const shorthand = XLOG_SHORTHANDS[e.name];
    if (shorthand !== undefined) {
      args.unshift(jsString(shorthand));
      method = 'xlog';
    }
    if (e.name === 'mf_process_maxfwd_header' && this.opts.maxfwdLimit !== undefined)
      args.push(String(this.opts.maxfwdLimit));
    if (cur.kind === 'xhttp' || cur.kind === 'event') return code('false', 'bool');
    const call = `${f.async === true ? 'await ' : ''}ctx.${method}(${args.join(', ')})`;
    return {
      c: f.async === true && !stmt ? `(${call})` : call,
      t: 'bool',
      nullable: false,
      p: P.atom,
    };
  }

  protected arg(fn: string, f: CfgFunction, i: number, a: Expr): string | undefined {
    const kind = f.args[i] as ArgKind;
    const lit = a.k === 'str' ? a.v : a.k === 'num' ? String(a.v) : undefined;
    switch (kind) {
      case 'int': {
        if (a.k === 'num') return String(a.v);
        if (a.k === 'str') {
          if (!/^\s*-?\d+\s*$/.test(a.v)) {
            this.err(a.pos, `${fn}(): argument ${i + 1} must be a number, got "${a.v}"`);
            return undefined;
          }
          return jsString(a.v);
        }
        return this.asInt(this.expr(a)).c;
      }
      case 'level':
        if (lit === undefined || !XLOG_LEVELS.includes(lit)) {
          // xlog("text") has one argument; two: the first is the level
          this.err(
            a.pos,
            `${fn}(): unknown log level ${lit === undefined ? 'expression' : `"${lit}"`}${lit === undefined ? '' : didYouMean(lit, XLOG_LEVELS, '"')} (levels: ${XLOG_LEVELS.join(', ')})`,
          );
          return undefined;
        }
        return jsString(lit);
      case 'failure-route':
      case 'branch-failure-route': {
        if (lit === undefined) {
          this.err(a.pos, `${fn}(): the route name must be a literal string`);
          return undefined;
        }
        const table = kind === 'failure-route' ? this.failure : this.branchFailure;
        if (!table.has(lit)) {
          const what =
            kind === 'failure-route'
              ? `failure_route[${lit}]`
              : `event_route[tm:branch-failure:${lit}]`;
          this.err(
            a.pos,
            `${fn}("${lit}"): there is no ${what}${didYouMean(lit, [...table.keys()], '"')}`,
          );
          return undefined;
        }
        return jsString(lit);
      }
      case 'regex': {
        if (a.k !== 'str') return `String(${this.expr(a).c} ?? '')`;
        const r = posixRegex(a.v);
        if (!r.ok) {
          this.err(a.pos, `${fn}(): bad regular expression "${a.v}": ${r.message}`);
          return undefined;
        }
        return jsString(r.source);
      }
      case 'table':
      case 'static':
        if (lit !== undefined) return jsString(lit);
        return this.stringOf(this.expr(a));
      case 'fmt': {
        if (a.k === 'num') return jsString(String(a.v));
        if (a.k !== 'str') return this.stringOf(this.expr(a));
        if (fn === 'insert_hf' || fn === 'append_hf' || fn.endsWith('reply'))
          this.checkHeaderText(a);
        const parts = this.format(a.v, a.pos);
        if (parts === undefined) return undefined;
        const formatsItself = f.formats?.includes(i) === true;
        if (parts.every((p) => typeof p === 'string')) return jsString(a.v);
        if (
          formatsItself &&
          parts.every((p) => typeof p === 'string' || PVS[p.name]?.inFormat === true)
        )
          return jsString(a.v);
        // substituted here, once per call, from the compiled pieces
        this.helper('fmt');
        return parts
          .map((p) => (typeof p === 'string' ? jsString(p) : `fmt(${this.pv(p, a.pos).c})`))
          .join(' + ');
      }
    }
  }

  protected stringOf(v: Code): string {
    if (v.t === 'str' && !v.nullable) return v.c;
    if (v.t === 'int' && !v.nullable) return `String(${v.c})`;
    return `String(${v.c} ?? '')`;
  }

  /** An ALL_CAPS_NAME left in a header text: a #!subst / #!substdef that is missing. */
  protected checkHeaderText(a: Expr & { k: 'str' }): void {
    const m = /\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/.exec(a.v);
    if (m === null) return;
    const names = this.prog.substNames;
    this.err(
      a.pos,
      `"${a.v.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}": ${m[0]} looks like a #!subst name, but no #!subst or #!substdef replaces it${didYouMean(m[0], [...names, ...this.prog.defines.keys()])}`,
    );
  }

  /** A format string's pieces: text and pseudo-variables (checked). */
  protected format(s: string, pos: Pos): (string | PvRef)[] | undefined {
    const out: (string | PvRef)[] = [];
    let text = '';
    let ok = true;
    for (let i = 0; i < s.length; i++) {
      const ch = s[i] as string;
      if (ch !== '$') {
        text += ch;
        continue;
      }
      let j = i + 1;
      const next = s[j];
      if (next === '(') {
        let depth = 0;
        for (; j < s.length; j++) {
          if (s[j] === '(') depth++;
          else if (s[j] === ')' && --depth === 0) break;
        }
        if (j >= s.length) {
          this.err(pos, `"${s}": unterminated $( … ) in the format`);
          return undefined;
        }
        j++;
      } else if (next !== undefined && /[A-Za-z_?]/.test(next)) {
        if (next === '?') j++;
        else {
          while (j < s.length && /[A-Za-z0-9_]/.test(s[j] as string)) j++;
          // the longest known name ($si:$sp, $rUxyz → $rU is not guessed: Kamailio reads the whole name)
          if (s[j] === '(') {
            const close = s.indexOf(')', j);
            if (close < 0) {
              this.err(pos, `"${s}": unterminated $name( … ) in the format`);
              return undefined;
            }
            j = close + 1;
          }
        }
      } else {
        text += ch;
        continue;
      }
      const raw = s.slice(i, j);
      const pv = parsePvText(raw);
      const at = { ...pos, col: pos.col + 1 + i };
      if (pv === undefined || PVS[pv.name] === undefined) {
        this.unknownPv(
          pv ?? {
            name: raw.slice(1),
            arg: undefined,
            index: undefined,
            transforms: undefined,
            text: raw,
          },
          at,
        );
        ok = false;
      } else if (!this.checkPvShape(pv, at, PVS[pv.name]?.arg === true)) ok = false;
      if (text !== '') out.push(text);
      text = '';
      out.push(pv ?? raw);
      i = j - 1;
    }
    if (text !== '') out.push(text);
    return ok ? out : undefined;
  }
}
