import type { Expr, Stmt } from './ast.js';
import { jsString } from './codegen.js';
import { CallCompiler } from './compile-call.js';
import type { RouteInfo } from './compiler-base.js';
import { nearest } from './names.js';
import { PVS } from './registry.js';

/** The statements stage: if, switch, while, assignments, return, exit, drop. */
export abstract class StmtCompiler extends CallCompiler {
  // ------------------------------------------------------------------ statements

  protected stmt(s: Stmt, ind: string): string[] {
    const cur = this.cur as RouteInfo;
    switch (s.k) {
      case 'expr': {
        if (s.e.k === 'call' || s.e.k === 'route') {
          const c = s.e.k === 'call' ? this.call(s.e, true) : this.routeCall(s.e, true);
          return [`${ind}${c.c};`];
        }
        this.err(s.pos, 'syntax error: this statement does nothing (expected a function call)');
        return [];
      }
      case 'block': {
        const out: string[] = [`${ind}{`];
        for (const x of s.body) out.push(...this.stmt(x, `${ind}  `));
        out.push(`${ind}}`);
        return out;
      }
      case 'if': {
        const out = [`${ind}if (${this.cond(s.cond)}) {`];
        out.push(...this.inner(s.then, ind));
        let e = s.else;
        while (e !== undefined) {
          if (e.k === 'if') {
            out.push(`${ind}} else if (${this.cond(e.cond)}) {`);
            out.push(...this.inner(e.then, ind));
            e = e.else;
          } else {
            out.push(`${ind}} else {`);
            out.push(...this.inner(e, ind));
            e = undefined;
          }
        }
        out.push(`${ind}}`);
        return out;
      }
      case 'while': {
        // Kamailio's max_while_loops: a loop ends after that many iterations
        this.loop++;
        const max = this.opts.maxWhileLoops ?? 100;
        const n = `loops${this.loop}`;
        const out = [
          `${ind}for (let ${n} = 0; ${this.cond(s.cond)}; ${n}++) {`,
          `${ind}  if (${n} >= ${max}) break;`,
          ...this.inner(s.body, ind),
          `${ind}}`,
        ];
        this.loop--;
        return out;
      }
      case 'switch':
        return this.switch(s, ind);
      case 'break':
        if (this.loop === 0 && this.switchDepth === 0) {
          this.err(s.pos, "'break' outside a switch or while");
          return [];
        }
        return [`${ind}break;`];
      case 'exit':
        this.usesCtx = true;
        return [`${ind}ctx.exit();`];
      case 'drop':
        this.usesCtx = true;
        return [`${ind}ctx.drop();`];
      case 'return': {
        this.usesCtx = true;
        const sub = cur.block.type === 'route' && cur.block.name !== undefined;
        if (s.e === undefined)
          return sub ? [`${ind}ctx.$rc = 1;`, `${ind}return;`] : [`${ind}return;`];
        if (s.e.k === 'num') {
          if (s.e.v === 0) return [`${ind}ctx.exit();`];
          return sub ? [`${ind}ctx.$rc = ${s.e.v};`, `${ind}return;`] : [`${ind}return;`];
        }
        const v = this.expr(s.e);
        this.helper('ret');
        this.helper('int');
        return [`${ind}ret(ctx, ${this.asInt(v).c});`, `${ind}return;`];
      }
      case 'assign':
        return this.assign(s, ind);
    }
  }

  protected inner(s: Stmt, ind: string): string[] {
    if (s.k === 'block') return s.body.flatMap((x) => this.stmt(x, `${ind}  `));
    return this.stmt(s, `${ind}  `);
  }

  protected switch(s: Stmt & { k: 'switch' }, ind: string): string[] {
    const v = this.expr(s.e);
    const labels = s.cases.map((c) => c.label).filter((l): l is Expr => l !== undefined);
    const strings = labels.some((l) => l.k === 'str');
    const numbers = labels.some((l) => l.k === 'num');
    if (strings && numbers) {
      this.err(s.pos, 'a switch compares numbers or strings, not both');
      return [];
    }
    let head: string;
    if (strings) head = v.t === 'str' && !v.nullable ? v.c : `String(${v.c} ?? '')`;
    else head = this.asInt(v).c;
    const out = [`${ind}switch (${head}) {`];
    this.switchDepth++;
    const seen = new Set<string>();
    for (const c of s.cases) {
      const lbl =
        c.label === undefined
          ? 'default'
          : c.label.k === 'num'
            ? String(c.label.v)
            : c.label.k === 'str'
              ? jsString(c.label.v)
              : undefined;
      if (lbl === undefined) {
        this.err(c.pos, 'a case value is a number or a string');
        continue;
      }
      if (seen.has(lbl))
        this.err(c.pos, `case ${lbl === 'default' ? 'default' : lbl} appears twice in this switch`);
      seen.add(lbl);
      out.push(lbl === 'default' ? `${ind}  default:` : `${ind}  case ${lbl}:`);
      for (const x of c.body) out.push(...this.stmt(x, `${ind}    `));
    }
    this.switchDepth--;
    out.push(`${ind}}`);
    return out;
  }

  protected assign(s: Stmt & { k: 'assign' }, ind: string): string[] {
    const t = s.target;
    const d = PVS[t.name];
    if (d === undefined) {
      this.unknownPv(t, s.pos);
      return [];
    }
    if (d.write === undefined) {
      this.err(
        s.pos,
        `${t.text} cannot be assigned in flowgate${t.name === 'rU' || t.name === 'rd' ? ' (assign the whole $ru)' : ''}`,
      );
      return [];
    }
    if (!this.checkPvShape(t, s.pos, d.arg === true)) return [];
    this.usesCtx = true;
    const isNull = s.value.k === 'pv' && s.value.pv.name === 'null';
    let val: string;
    if (t.name === 'du') {
      if (isNull) val = 'undefined';
      else {
        const v = this.expr(s.value);
        val = v.t === 'str' ? v.c : `String(${v.c})`;
        this.checkUri(s.value);
      }
    } else if (t.name === 'ru') {
      if (isNull) {
        this.err(s.pos, '$ru cannot be set to $null');
        return [];
      }
      const v = this.expr(s.value);
      val = v.t === 'str' && !v.nullable ? v.c : `String(${v.c} ?? '')`;
      this.checkUri(s.value);
    } else {
      // $var / $avp: $null resets to 0 (Kamailio)
      if (isNull) val = '0';
      else {
        const v = this.expr(s.value);
        val = v.t === 'bool' ? `(${v.c} ? 1 : 0)` : v.c;
      }
      if (t.name === 'avp') this.helper('avps');
    }
    const a = t.arg === undefined ? '' : jsString(t.arg);
    return [`${ind}${d.write.replace('A', a).replace('V', val)};`];
  }

  /** A literal SIP URI assigned to $du / $ru must be one (a missing #!subst shows here). */
  protected checkUri(e: Expr): void {
    if (e.k !== 'str') return;
    const v = e.v;
    const m = /^(sips?):(?:[^@;?]*@)?(\[[^\]]*\]|[^:;?]*)(?::([^;?]*))?/i.exec(v);
    const caps = (s: string): string[] =>
      [...s.matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g)].map((x) => x[0]);
    const bad = caps(v);
    if (bad.length > 0) {
      const names = this.prog.substNames;
      const near = nearest(bad[0] as string, [...names, ...this.prog.defines.keys()]);
      this.err(
        e.pos,
        `"${v}": ${bad.join(', ')} looks like a #!subst name, but no #!subst or #!substdef replaces it${near === undefined ? '' : ` (did you mean ${near}?)`}${names.length > 0 ? `; defined: ${names.join(', ')}` : ''}`,
      );
      return;
    }
    if (m === null) {
      this.err(e.pos, `"${v}" is not a SIP URI (expected sip:host[:port][;params])`);
      return;
    }
    const port = m[3];
    if (port !== undefined && !/^\d{1,5}$/.test(port))
      this.err(e.pos, `"${v}" is not a SIP URI: the port '${port}' is not a number`);
  }
}
