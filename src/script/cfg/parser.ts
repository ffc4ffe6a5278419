import type {
  BinOp,
  Expr,
  GlobalParam,
  LoadModule,
  ModParam,
  Pos,
  Program,
  RouteBlock,
  RouteType,
  Stmt,
  SwitchCase,
} from './ast.js';
import { CfgError, issueAt } from './errors.js';
import { CfgLexer, type PreprocessOptions, type SourceReader, type Token } from './lexer.js';

/** Route block keywords and their kinds. */
const ROUTE_KEYWORDS: Readonly<Record<string, RouteType>> = {
  request_route: 'request',
  route: 'route',
  failure_route: 'failure',
  branch_route: 'branch',
  onreply_route: 'onreply',
  reply_route: 'reply',
  event_route: 'event',
  onsend_route: 'onsend',
};

/** Binary operators by precedence level, lowest first (Kamailio's cfg.y `%left` order). */
const LEVELS: readonly (readonly BinOp[])[] = [
  ['||'],
  ['&&'],
  ['|'],
  ['&'],
  ['^'],
  ['<<', '>>'],
  ['==', '!=', '=~', '!~'],
  ['<', '>', '<=', '>='],
  ['+', '-'],
  ['*', '/', '%'],
];

/**
 * Parses a Kamailio configuration file (and its includes) into a {@link Program}. Preprocessing
 * happens while reading (see {@link CfgLexer}).
 * @throws CfgError at the first syntax or preprocessor error, with file:line:col.
 */
export function parseCfg(
  path: string,
  reader: SourceReader,
  opts: PreprocessOptions = {},
): Program {
  return new Parser(new CfgLexer(path, reader, opts)).program();
}

class Parser {
  readonly #lx: CfgLexer;
  #peeked: Token | undefined;
  #prev: Token | undefined;

  constructor(lx: CfgLexer) {
    this.#lx = lx;
  }

  #peek(): Token {
    this.#peeked ??= this.#lx.next();
    return this.#peeked;
  }

  #next(): Token {
    const t = this.#peek();
    this.#peeked = undefined;
    this.#prev = t;
    return t;
  }

  #fail(pos: Pos, message: string): never {
    throw new CfgError([issueAt(pos, message)]);
  }

  #show(t: Token): string {
    switch (t.kind) {
      case 'eof':
        return 'the end of the file';
      case 'str':
        return JSON.stringify(t.text);
      default:
        return `'${t.text}'`;
    }
  }

  /** Consumes the operator `op` or fails with what was expected. */
  #expect(op: string, what?: string): Token {
    const t = this.#peek();
    if (t.kind === 'op' && t.text === op) return this.#next();
    // a missing ';' is reported where it is missing: after the previous token
    const at =
      op === ';' && this.#prev !== undefined && t.lineStart ? this.#after(this.#prev) : t.pos;
    this.#fail(
      at,
      `syntax error: expected '${op}'${what === undefined ? '' : ` ${what}`}, got ${this.#show(t)}`,
    );
  }

  #after(t: Token): Pos {
    return {
      ...t.pos,
      col: t.pos.col + Math.max(1, t.kind === 'str' ? t.text.length + 2 : t.text.length),
    };
  }

  #isOp(op: string): boolean {
    const t = this.#peek();
    return t.kind === 'op' && t.text === op;
  }

  #isId(word: string): boolean {
    const t = this.#peek();
    return t.kind === 'id' && t.text === word;
  }

  program(): Program {
    const globals: GlobalParam[] = [];
    const modules: LoadModule[] = [];
    const modparams: ModParam[] = [];
    const routes: RouteBlock[] = [];
    for (;;) {
      const t = this.#next();
      if (t.kind === 'eof') break;
      if (t.kind === 'op' && t.text === ';') continue;
      if (t.kind !== 'id')
        this.#fail(
          t.pos,
          `syntax error: expected a parameter (name=value), loadmodule, modparam or a route block, got ${this.#show(t)}`,
        );
      const kind = ROUTE_KEYWORDS[t.text];
      if (kind !== undefined && (this.#isOp('{') || this.#isOp('['))) {
        routes.push(this.#routeBlock(t, kind));
        continue;
      }
      switch (t.text) {
        case 'loadmodule': {
          const s = this.#next();
          if (s.kind !== 'str')
            this.#fail(
              s.pos,
              `loadmodule: expected a quoted module name like "tm.so", got ${this.#show(s)}`,
            );
          const name = moduleName(s.text);
          modules.push({ name, path: s.text, pos: s.pos });
          // Kamailio defines MOD_<name> for every loaded module
          this.#lx.define(`MOD_${name}`);
          if (this.#isOp(';')) this.#next();
          continue;
        }
        case 'loadpath': {
          const s = this.#next();
          if (s.kind !== 'str')
            this.#fail(s.pos, `loadpath: expected a quoted directory, got ${this.#show(s)}`);
          globals.push({ name: 'mpath', value: s.text, quoted: true, pos: t.pos, valuePos: s.pos });
          if (this.#isOp(';')) this.#next();
          continue;
        }
        case 'modparam':
          modparams.push(this.#modparam(t));
          continue;
        case 'cfgengine': {
          const s = this.#next();
          if (s.kind !== 'str' || s.text !== 'native')
            this.#fail(
              s.pos,
              `cfgengine ${this.#show(s)} is not supported: flowgate runs the native configuration language (KEMI scripts: write a flowgate TypeScript script instead)`,
            );
          if (this.#isOp(';')) this.#next();
          continue;
        }
        default:
          break;
      }
      if (this.#isOp('=') || this.#isOp(':=')) {
        this.#next();
        const v = this.#lx.rawLine();
        globals.push({
          name: t.text,
          value: v.text,
          quoted: v.quoted,
          pos: t.pos,
          valuePos: v.pos,
        });
        continue;
      }
      if (this.#isOp('.')) {
        this.#fail(
          t.pos,
          `'${t.text}.…=' (a configuration-framework variable) is not supported by flowgate: set the module parameter with modparam`,
        );
      }
      this.#fail(
        t.pos,
        kind !== undefined
          ? `syntax error: expected '{' or '[NAME]' after ${t.text}, got ${this.#show(this.#peek())}`
          : `syntax error: '${t.text}' here must be a parameter (${t.text}=value), loadmodule, modparam or a route block`,
      );
    }
    return {
      globals,
      modules,
      modparams,
      routes,
      defines: this.#lx.defines,
      substNames: this.#lx.substNames,
      files: this.#lx.files,
      notes: this.#lx.notes,
    };
  }

  #routeBlock(kw: Token, type: RouteType): RouteBlock {
    let name: string | undefined;
    let namePos = kw.pos;
    if (this.#isOp('[')) {
      this.#next();
      const r = this.#lx.raw(']');
      namePos = r.pos;
      this.#expect(']', `after the route name`);
      name = r.text.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
      if (name === '') this.#fail(r.pos, `${kw.text}[…]: the route name is empty`);
    }
    const open = this.#expect('{', `to open the ${kw.text} block`);
    const body = this.#stmts(open);
    return { type, name, body, pos: kw.pos, namePos };
  }

  #modparam(kw: Token): ModParam {
    this.#expect('(', 'after modparam');
    const m = this.#next();
    if (m.kind !== 'str')
      this.#fail(m.pos, `modparam: expected the module name in quotes, got ${this.#show(m)}`);
    this.#expect(',', 'after the module name');
    const p = this.#next();
    if (p.kind !== 'str')
      this.#fail(p.pos, `modparam: expected the parameter name in quotes, got ${this.#show(p)}`);
    this.#expect(',', 'after the parameter name');
    const vt = this.#peek();
    let value: string | number;
    if (vt.kind === 'str') {
      value = this.#next().text;
      while (this.#peek().kind === 'str') value += this.#next().text;
    } else if (vt.kind === 'num') value = this.#next().num as number;
    else if (vt.kind === 'op' && vt.text === '-') {
      this.#next();
      const n = this.#next();
      if (n.kind !== 'num')
        this.#fail(n.pos, `modparam: expected a number after '-', got ${this.#show(n)}`);
      value = -(n.num as number);
    } else if (vt.kind === 'id') value = this.#next().text;
    else
      this.#fail(
        vt.pos,
        `modparam: expected a value (a number or a string in quotes), got ${this.#show(vt)}`,
      );
    this.#expect(')', 'to close modparam(…)');
    if (this.#isOp(';')) this.#next();
    return {
      modules: m.text.split('|').map((x) => x.trim()),
      param: p.text,
      value,
      pos: kw.pos,
      modulePos: m.pos,
      paramPos: p.pos,
      valuePos: vt.pos,
    };
  }

  /** Statements up to the `}` matching `open`. */
  #stmts(open: Token): Stmt[] {
    const out: Stmt[] = [];
    for (;;) {
      const t = this.#peek();
      if (t.kind === 'op' && t.text === '}') {
        this.#next();
        return out;
      }
      if (t.kind === 'eof')
        this.#fail(open.pos, `'{' is never closed: expected '}' before the end of the file`);
      const s = this.#stmt();
      if (s !== undefined) out.push(s);
    }
  }

  #stmt(): Stmt | undefined {
    const t = this.#next();
    if (t.kind === 'op') {
      if (t.text === ';') return undefined;
      if (t.text === '{') return { k: 'block', body: this.#stmts(t), pos: t.pos };
      this.#fail(t.pos, `syntax error: a statement cannot start with ${this.#show(t)}`);
    }
    if (t.kind === 'pv') {
      if (!(this.#isOp('=') || this.#isOp(':=')))
        this.#fail(
          this.#peek().pos,
          `syntax error: expected '=' after ${t.text} (an assignment), got ${this.#show(this.#peek())}`,
        );
      this.#next();
      const value = this.#expr();
      this.#expect(';', 'after the assignment');
      return { k: 'assign', target: t.pv as NonNullable<Token['pv']>, value, pos: t.pos };
    }
    if (t.kind !== 'id')
      this.#fail(t.pos, `syntax error: a statement cannot start with ${this.#show(t)}`);
    switch (t.text) {
      case 'if': {
        this.#expect('(', "after 'if'");
        const cond = this.#expr();
        this.#expect(')', 'to close the if condition');
        const then = this.#body();
        let els: Stmt | undefined;
        if (this.#isId('else')) {
          this.#next();
          els = this.#body();
        }
        return { k: 'if', cond, then, else: els, pos: t.pos };
      }
      case 'while': {
        this.#expect('(', "after 'while'");
        const cond = this.#expr();
        this.#expect(')', 'to close the while condition');
        return { k: 'while', cond, body: this.#body(), pos: t.pos };
      }
      case 'switch':
        return this.#switch(t);
      case 'break':
        this.#expect(';', "after 'break'");
        return { k: 'break', pos: t.pos };
      case 'exit':
      case 'drop': {
        if (this.#isOp('(')) {
          this.#next();
          this.#expect(')', `: ${t.text} takes no arguments`);
        }
        this.#expect(';', `after '${t.text}'`);
        return { k: t.text, pos: t.pos };
      }
      case 'return': {
        let e: Expr | undefined;
        if (!this.#isOp(';')) e = this.#expr();
        this.#expect(';', "after 'return'");
        return { k: 'return', e, pos: t.pos };
      }
      case 'else':
        this.#fail(t.pos, "syntax error: 'else' without 'if' (a ';' after the if's closing '}'?)");
        break;
      case 'case':
      case 'default':
        this.#fail(t.pos, `syntax error: '${t.text}' outside a switch`);
        break;
      default:
        break;
    }
    // a function or route call
    const e = this.#callOrName(t);
    if (e.k === 'id') {
      // `sl_reply_error;`: a function without parentheses
      this.#expect(';', `after '${t.text}'`);
      return { k: 'expr', e: { k: 'call', name: t.text, args: [], pos: t.pos }, pos: t.pos };
    }
    this.#expect(';', `after ${t.text}(…)`);
    return { k: 'expr', e, pos: t.pos };
  }

  /** The body of if / else / while: a block or one statement. */
  #body(): Stmt {
    const s = this.#stmt();
    return s ?? { k: 'block', body: [], pos: this.#prev?.pos ?? this.#lx.lastPos };
  }

  #switch(kw: Token): Stmt {
    this.#expect('(', "after 'switch'");
    const e = this.#expr();
    this.#expect(')', 'to close the switch value');
    const open = this.#expect('{', 'to open the switch block');
    const cases: { label: Expr | undefined; body: Stmt[]; pos: Pos }[] = [];
    for (;;) {
      const t = this.#peek();
      if (t.kind === 'op' && t.text === '}') {
        this.#next();
        break;
      }
      if (t.kind === 'eof') this.#fail(open.pos, "the switch block is never closed: expected '}'");
      if (t.kind === 'id' && (t.text === 'case' || t.text === 'default')) {
        this.#next();
        let label: Expr | undefined;
        if (t.text === 'case') label = this.#caseLabel();
        this.#expect(':', `after the ${t.text === 'case' ? 'case value' : "'default'"}`);
        cases.push({ label, body: [], pos: t.pos });
        continue;
      }
      const cur = cases[cases.length - 1];
      if (cur === undefined)
        this.#fail(t.pos, "syntax error: a switch block starts with 'case' or 'default'");
      const s = this.#stmt();
      if (s !== undefined) cur.body.push(s);
    }
    return { k: 'switch', e, cases: cases as SwitchCase[], pos: kw.pos };
  }

  #caseLabel(): Expr {
    const t = this.#next();
    if (t.kind === 'num') return { k: 'num', v: t.num as number, pos: t.pos };
    if (t.kind === 'str') return { k: 'str', v: t.text, pos: t.pos };
    if (t.kind === 'op' && (t.text === '-' || t.text === '+')) {
      const n = this.#next();
      if (n.kind !== 'num')
        this.#fail(
          n.pos,
          `syntax error: expected a number after '${t.text}' in case, got ${this.#show(n)}`,
        );
      return { k: 'num', v: t.text === '-' ? -(n.num as number) : (n.num as number), pos: t.pos };
    }
    if (t.kind === 'op' && t.text === '/')
      this.#fail(
        t.pos,
        'case /"regex": (a regular-expression case) is not supported by flowgate: use if ($x =~ "regex")',
      );
    this.#fail(t.pos, `syntax error: a case value is a number or a string, got ${this.#show(t)}`);
  }

  // ------------------------------------------------------------------ expressions

  #expr(level = 0): Expr {
    if (level >= LEVELS.length) return this.#unary();
    let l = this.#expr(level + 1);
    const ops = LEVELS[level] as readonly BinOp[];
    for (;;) {
      const t = this.#peek();
      if (t.kind !== 'op' || !(ops as readonly string[]).includes(t.text)) return l;
      this.#next();
      const r = this.#expr(level + 1);
      l = { k: 'bin', op: t.text as BinOp, l, r, pos: t.pos };
    }
  }

  #unary(): Expr {
    const t = this.#peek();
    if (t.kind === 'op' && (t.text === '!' || t.text === '-' || t.text === '~')) {
      this.#next();
      const e = this.#unary();
      if (t.text === '-' && e.k === 'num') return { k: 'num', v: -e.v, pos: t.pos };
      return { k: 'unary', op: t.text, e, pos: t.pos };
    }
    if (t.kind === 'op' && t.text === '+') {
      this.#next();
      return this.#unary();
    }
    return this.#primary();
  }

  #primary(): Expr {
    const t = this.#next();
    switch (t.kind) {
      case 'num':
        return { k: 'num', v: t.num as number, pos: t.pos };
      case 'str': {
        let v = t.text;
        // adjacent literals concatenate
        while (this.#peek().kind === 'str') v += this.#next().text;
        return { k: 'str', v, pos: t.pos };
      }
      case 'pv':
        return { k: 'pv', pv: t.pv as NonNullable<Token['pv']>, pos: t.pos };
      case 'select':
        return { k: 'select', sel: t.sel as NonNullable<Token['sel']>, pos: t.pos };
      case 'id':
        return this.#callOrName(t);
      case 'op':
        if (t.text === '(') {
          const e = this.#expr();
          this.#expect(')', 'to close the parenthesis');
          return e;
        }
        break;
      default:
        break;
    }
    this.#fail(
      t.pos,
      `syntax error: expected a value (a string, number, $variable or function call), got ${this.#show(t)}`,
    );
  }

  /** `name(args)`, `route(NAME)`, or a bare name. */
  #callOrName(t: Token): Expr {
    if (!this.#isOp('(')) return { k: 'id', name: t.text, pos: t.pos };
    this.#next();
    if (t.text === 'route') return this.#routeCall(t);
    const args: Expr[] = [];
    if (!this.#isOp(')')) {
      for (;;) {
        args.push(this.#expr());
        if (this.#isOp(',')) {
          this.#next();
          continue;
        }
        break;
      }
    }
    this.#expect(')', `to close ${t.text}(…)`);
    return { k: 'call', name: t.text, args, pos: t.pos };
  }

  #routeCall(t: Token): Expr {
    const c = this.#peek();
    // route("NAME") / route($var(x)): an expression; route(NAME-WITH-DASH): raw text
    if (c.kind === 'str' || c.kind === 'pv') {
      const e = this.#expr();
      this.#expect(')', 'to close route(…)');
      return { k: 'route', name: e.k === 'str' ? e.v : e, pos: t.pos };
    }
    let name = c.text;
    if (c.kind === 'id') {
      this.#next();
      // NAME-PART: names may contain '-'
      while (this.#isOp('-')) {
        this.#next();
        const n = this.#next();
        if (n.kind !== 'id' && n.kind !== 'num')
          this.#fail(n.pos, `syntax error: bad route name after '${name}-'`);
        name += `-${n.text}`;
      }
    } else if (c.kind === 'num') {
      this.#next();
    } else
      this.#fail(c.pos, `syntax error: expected a route name in route(…), got ${this.#show(c)}`);
    this.#expect(')', 'to close route(…)');
    return { k: 'route', name, pos: t.pos };
  }
}

/** `"tm.so"`, `"/usr/lib/kamailio/modules/tm.so"`, `"tm"` → `tm`. */
export function moduleName(path: string): string {
  const base = path.replace(/\\/g, '/').split('/').pop() ?? path;
  return base.replace(/\.so$/, '');
}
