import type { CfgNote, Expr, Pos, Program, PvRef, RouteBlock, Stmt } from './ast.js';
import { type CfgIssue, issueAt } from './errors.js';
import { didYouMean, nearest } from './names.js';
import {
  type ArgKind,
  acceptsAnyParam,
  type CfgFunction,
  EVENT_ROUTES,
  FUNCTIONS,
  GLOBALS,
  KAMAILIO_ONLY_MODULES,
  KEYWORD_PVS,
  MODULES,
  PARAMS,
  PVS,
  type RouteKind,
  SELECTS,
  UNSUPPORTED_FUNCTIONS,
  XLOG_LEVELS,
  XLOG_SHORTHANDS,
} from './registry.js';

/** Options of the code generator. */
export interface CodegenOptions {
  /** `modparam("maxfwd", "max_limit", N)`: passed to every mf_process_maxfwd_header(). */
  readonly maxfwdLimit?: number | undefined;
  /** `max_while_loops=N` (Kamailio's default 100): a while loop stops after N iterations. */
  readonly maxWhileLoops?: number | undefined;
}

/** One generated route. */
interface RouteOut {
  readonly key: string;
  readonly async: boolean;
  readonly body: string[];
  readonly usesCtx: boolean;
  readonly block: RouteBlock;
}

/** The routes of a configuration as JavaScript/TypeScript, and what the configuration layer needs. */
export interface CompiledRoutes {
  readonly request: RouteOut | undefined;
  readonly onreply: RouteOut | undefined;
  readonly route: readonly RouteOut[];
  readonly failure: readonly RouteOut[];
  readonly event: readonly RouteOut[];
  /** Helper functions and constants the routes use (`eq`, `RE_1`, …), by name. */
  readonly helpers: ReadonlyMap<string, { ts: string; js: string }>;
  /** Routes accepted but not run (xhttp, websocket:closed), with why. */
  readonly skipped: readonly { block: RouteBlock; why: string }[];
  /** Ports `event_route[xhttp:request]` accepts WebSocket upgrades on (its `$Rp` test). */
  readonly wsPorts: readonly number[];
  /** The xhttp route calls ws_handle_handshake(). */
  readonly wsHandshake: boolean;
  /** Loaded modules (Kamailio names). */
  readonly modules: ReadonlySet<string>;
  readonly notes: readonly CfgNote[];
}

type Ty = 'bool' | 'int' | 'str' | 'any';

/** A compiled expression: code, its type, whether it may be undefined, whether it needs parentheses. */
interface Code {
  readonly c: string;
  readonly t: Ty;
  readonly nullable: boolean;
  /** JavaScript precedence of the code's outermost operator ({@link P}; a call or name: P.atom). */
  readonly p: number;
}

/** JavaScript operator precedence, loosest first. */
const P = {
  or: 4,
  and: 5,
  bor: 6,
  bxor: 7,
  band: 8,
  eq: 9,
  rel: 10,
  shift: 11,
  add: 12,
  mul: 13,
  unary: 15,
  atom: 20,
} as const;

const OP_PREC: Readonly<Record<string, number>> = {
  '|': P.bor,
  '^': P.bxor,
  '&': P.band,
  '<<': P.shift,
  '>>': P.shift,
  '-': P.add,
  '*': P.mul,
};

function code(c: string, t: Ty, p: number = P.atom, nullable = false): Code {
  return { c, t, nullable, p };
}

const UNDEF: Code = { c: 'undefined', t: 'any', nullable: true, p: P.atom };

/** A JavaScript single-quoted string literal. */
export function jsString(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === "'") out += "\\'";
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029)
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

const HELPERS: Readonly<Record<string, { ts: string; js: string }>> = {
  int: {
    ts: `/** Kamailio's integer value of a script value (a string's leading number, else 0). */
function int(v: unknown): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return 0;
  const m = /^\\s*([-+]?\\d+)/.exec(v);
  return m === null ? 0 : Number(m[1]);
}`,
    js: `function int(v) {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return 0;
  const m = /^\\s*([-+]?\\d+)/.exec(v);
  return m === null ? 0 : Number(m[1]);
}`,
  },
  eq: {
    ts: `/** Kamailio ==: by the left value's type; an undefined value takes the other side's type. */
function eq(a: unknown, b: unknown): boolean {
  if (a === undefined && b === undefined) return true;
  if (typeof a === 'number' || (a === undefined && typeof b === 'number')) return int(a) === int(b);
  return String(a ?? '') === String(b ?? '');
}`,
    js: `function eq(a, b) {
  if (a === undefined && b === undefined) return true;
  if (typeof a === 'number' || (a === undefined && typeof b === 'number')) return int(a) === int(b);
  return String(a ?? '') === String(b ?? '');
}`,
  },
  cmp: {
    ts: `/** Kamailio < > <= >=: integers when the left value is one, else strings. */
function cmp(a: unknown, b: unknown): number {
  if (typeof a === 'number' || typeof b === 'number') return int(a) - int(b);
  const x = String(a ?? '');
  const y = String(b ?? '');
  return x < y ? -1 : x > y ? 1 : 0;
}`,
    js: `function cmp(a, b) {
  if (typeof a === 'number' || typeof b === 'number') return int(a) - int(b);
  const x = String(a ?? '');
  const y = String(b ?? '');
  return x < y ? -1 : x > y ? 1 : 0;
}`,
  },
  add: {
    ts: `/** Kamailio +: addition when the left value is an integer, else concatenation. */
function add(a: unknown, b: unknown): string | number {
  if (typeof a === 'number' || (a === undefined && typeof b === 'number')) return int(a) + int(b);
  return String(a ?? '') + String(b ?? '');
}`,
    js: `function add(a, b) {
  if (typeof a === 'number' || (a === undefined && typeof b === 'number')) return int(a) + int(b);
  return String(a ?? '') + String(b ?? '');
}`,
  },
  cond: {
    ts: `/** An if / while condition: true when the value is a positive integer. */
function cond(v: unknown): boolean {
  return typeof v === 'boolean' ? v : int(v) > 0;
}`,
    js: `function cond(v) {
  return typeof v === 'boolean' ? v : int(v) > 0;
}`,
  },
  truth: {
    ts: `/** An operand of && || !: true when the value is not 0. */
function truth(v: unknown): boolean {
  return typeof v === 'boolean' ? v : int(v) !== 0;
}`,
    js: `function truth(v) {
  return typeof v === 'boolean' ? v : int(v) !== 0;
}`,
  },
  idiv: {
    ts: `/** Integer division and remainder (0 when dividing by 0). */
function idiv(a: number, b: number, rem: boolean): number {
  if (b === 0) return 0;
  return rem ? a % b : Math.trunc(a / b);
}`,
    js: `function idiv(a, b, rem) {
  if (b === 0) return 0;
  return rem ? a % b : Math.trunc(a / b);
}`,
  },
  fmt: {
    ts: `/** A value in a format string: undefined prints as <null> (Kamailio). */
function fmt(v: unknown): string {
  return v === undefined ? '<null>' : String(v);
}`,
    js: `function fmt(v) {
  return v === undefined ? '<null>' : String(v);
}`,
  },
  ret: {
    ts: `/** \`return N\` from a route: 0 ends the script (as exit), otherwise $rc = N. */
function ret(ctx: ScriptContext, code: number): void {
  if (code === 0) ctx.exit();
  ctx.$rc = code;
}`,
    js: `function ret(ctx, code) {
  if (code === 0) ctx.exit();
  ctx.$rc = code;
}`,
  },
  avps: {
    ts: `const AVPS = new WeakMap<object, Record<string, string | number | undefined>>();
/** $avp(name): values that follow the request (its failure and branch-failure routes see them). */
function avps(ctx: ScriptContext): Record<string, string | number | undefined> {
  let k: object;
  try {
    k = ctx.request.req;
  } catch {
    k = ctx.msg;
  }
  let a = AVPS.get(k);
  if (a === undefined) {
    a = {};
    AVPS.set(k, a);
  }
  return a;
}`,
    js: `const AVPS = new WeakMap();
function avps(ctx) {
  let k;
  try {
    k = ctx.request.req;
  } catch {
    k = ctx.msg;
  }
  let a = AVPS.get(k);
  if (a === undefined) {
    a = {};
    AVPS.set(k, a);
  }
  return a;
}`,
  },
};

/** POSIX character classes → JavaScript. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\r\\n\\v\\f',
  blank: ' \\t',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
};

/** A POSIX extended regular expression as JavaScript source, or the reason it cannot be one. */
export function posixRegex(
  re: string,
): { ok: true; source: string } | { ok: false; message: string } {
  const source = re.replace(/\[:([a-z]+):\]/g, (m, n: string) => POSIX_CLASSES[n] ?? m);
  try {
    new RegExp(source, 'i');
    return { ok: true, source };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

interface RouteInfo {
  readonly block: RouteBlock;
  readonly kind: RouteKind;
  readonly calls: Set<string>;
  dynamicCall: boolean;
  asyncFn: boolean;
}

/**
 * Checks a parsed configuration against what flowgate has (modules, parameters, globals,
 * functions, argument counts, pseudo-variables, route names) and generates the routes' code.
 * Returns every problem found, each at its file:line:col with a hint.
 */
export function compileRoutes(
  prog: Program,
  opts: CodegenOptions = {},
): { ok: true; routes: CompiledRoutes } | { ok: false; issues: CfgIssue[] } {
  return new Compiler(prog, opts).run();
}

class Compiler {
  readonly #prog: Program;
  readonly #opts: CodegenOptions;
  readonly #issues: CfgIssue[] = [];
  readonly #notes: CfgNote[] = [];
  readonly #modules = new Set<string>();
  readonly #helpers = new Map<string, { ts: string; js: string }>();
  readonly #regexes = new Map<string, string>();
  /** route[NAME] by name */
  readonly #named = new Map<string, RouteBlock>();
  readonly #failure = new Map<string, RouteBlock>();
  readonly #branchFailure = new Map<string, RouteBlock>();
  readonly #info = new Map<RouteBlock, RouteInfo>();
  #async = new Set<RouteBlock>();
  /** The route being generated. */
  #cur: RouteInfo | undefined;
  #loop = 0;
  #switchDepth = 0;
  #usesCtx = false;

  constructor(prog: Program, opts: CodegenOptions) {
    this.#prog = prog;
    this.#opts = opts;
    this.#notes.push(...prog.notes);
  }

  #err(pos: Pos, message: string): void {
    this.#issues.push(issueAt(pos, message));
  }

  run(): { ok: true; routes: CompiledRoutes } | { ok: false; issues: CfgIssue[] } {
    this.#checkModules();
    this.#checkModparams();
    this.#checkGlobals();
    const entries = this.#collectRoutes();
    // a first pass finds calls and async functions; then async-ness propagates through route()
    for (const b of this.#info.keys()) {
      this.#cur = this.#info.get(b);
      this.#scan(b.body);
    }
    this.#cur = undefined;
    this.#propagateAsync();
    const out = (b: RouteBlock, k: string): RouteOut => this.#route(b, k);
    const request =
      entries.request === undefined ? undefined : out(entries.request, 'request_route');
    if (entries.request === undefined && this.#issues.length === 0)
      this.#err(
        { file: this.#prog.files[0] ?? '', line: 1, col: 1 },
        'the configuration has no request_route { … }: flowgate needs one to handle requests',
      );
    const onreply =
      entries.onreply === undefined ? undefined : out(entries.onreply, 'onreply_route');
    const route = [...this.#named].map(([n, b]) => out(b, n));
    const failure = [...this.#failure].map(([n, b]) => out(b, n));
    const event = [...this.#branchFailure].map(([n, b]) => out(b, `tm:branch-failure:${n}`));
    // checked like any route, never run: what they would need is not kept
    const helpers = new Map(this.#helpers);
    const regexes = new Map(this.#regexes);
    for (const sk of entries.skipped) out(sk.block, sk.block.name ?? '');
    this.#helpers.clear();
    for (const [k, v] of helpers) this.#helpers.set(k, v);
    this.#regexes.clear();
    for (const [k, v] of regexes) this.#regexes.set(k, v);
    const ws = this.#xhttp(entries.skipped);
    if (this.#issues.length > 0) return { ok: false, issues: this.#sorted() };
    return {
      ok: true,
      routes: {
        request,
        onreply,
        route,
        failure,
        event,
        helpers: this.#helpers,
        skipped: entries.skipped,
        wsPorts: ws.ports,
        wsHandshake: ws.handshake,
        modules: this.#modules,
        notes: this.#notes,
      },
    };
  }

  #sorted(): CfgIssue[] {
    const files = this.#prog.files;
    return this.#issues.sort(
      (a, b) => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line || a.col - b.col,
    );
  }

  // ------------------------------------------------------------------ modules, params, globals

  #checkModules(): void {
    for (const m of this.#prog.modules) {
      if (MODULES[m.name] !== undefined) {
        this.#modules.add(m.name);
        continue;
      }
      if (KAMAILIO_ONLY_MODULES.includes(m.name)) {
        this.#err(
          m.pos,
          `Kamailio module '${m.name}' is not available in flowgate (flowgate has: ${Object.keys(MODULES).join(', ')}); remove the loadmodule and what uses it`,
        );
        continue;
      }
      this.#err(
        m.pos,
        `unknown module '${m.name}'${didYouMean(m.name, [...Object.keys(MODULES), ...KAMAILIO_ONLY_MODULES])}`,
      );
    }
  }

  #checkModparams(): void {
    for (const mp of this.#prog.modparams) {
      for (const name of mp.modules) {
        if (MODULES[name] === undefined) {
          if (KAMAILIO_ONLY_MODULES.includes(name))
            this.#err(
              mp.modulePos,
              `modparam: Kamailio module '${name}' is not available in flowgate`,
            );
          else
            this.#err(
              mp.modulePos,
              `modparam: unknown module '${name}'${didYouMean(name, Object.keys(MODULES))}`,
            );
          continue;
        }
        if (!this.#modules.has(name)) {
          this.#err(
            mp.modulePos,
            `modparam for module '${name}', which is not loaded: add loadmodule "${name}.so" before it`,
          );
          continue;
        }
        if (acceptsAnyParam(name)) {
          this.#notes.push({
            pos: mp.paramPos,
            message: `modparam("${name}", "${mp.param}", …): ${name} is built into flowgate (${MODULES[name]?.note}); the parameter has no effect`,
          });
          continue;
        }
        const params = PARAMS[name] ?? {};
        const p = params[mp.param];
        if (p === undefined) {
          const known = Object.keys(params);
          this.#err(
            mp.paramPos,
            `unknown parameter '${mp.param}' of module ${name}${didYouMean(mp.param, known)}${known.length === 0 ? ` (flowgate's ${name} has no parameters)` : `; flowgate's ${name} has: ${known.join(', ')}`}`,
          );
          continue;
        }
        if ('none' in p)
          this.#notes.push({
            pos: mp.paramPos,
            message: `modparam("${name}", "${mp.param}", …) has no effect: ${p.none}`,
          });
      }
    }
  }

  #checkGlobals(): void {
    for (const g of this.#prog.globals) {
      const d = GLOBALS[g.name];
      if (d === undefined) {
        this.#err(
          g.pos,
          `unknown global parameter '${g.name}'${didYouMean(g.name, Object.keys(GLOBALS))}`,
        );
        continue;
      }
      if ('none' in d)
        this.#notes.push({ pos: g.pos, message: `${g.name}=… has no effect: ${d.none}` });
    }
  }

  // ------------------------------------------------------------------ routes

  #collectRoutes(): {
    request: RouteBlock | undefined;
    onreply: RouteBlock | undefined;
    skipped: { block: RouteBlock; why: string }[];
  } {
    let request: RouteBlock | undefined;
    let onreply: RouteBlock | undefined;
    const skipped: { block: RouteBlock; why: string }[] = [];
    const add = (kind: RouteKind, b: RouteBlock): void => {
      this.#info.set(b, { block: b, kind, calls: new Set(), dynamicCall: false, asyncFn: false });
    };
    const dup = (b: RouteBlock, what: string): void =>
      this.#err(b.namePos, `${what} is defined twice`);
    for (const b of this.#prog.routes) {
      switch (b.type) {
        case 'request':
        case 'route':
          if (b.type === 'request' || b.name === undefined) {
            if (b.name !== undefined) {
              this.#err(b.namePos, 'request_route takes no name');
              break;
            }
            if (request !== undefined) dup(b, 'the main route (request_route / route)');
            request = b;
            add('request', b);
            break;
          }
          if (this.#named.has(b.name)) dup(b, `route[${b.name}]`);
          this.#named.set(b.name, b);
          add('request', b);
          break;
        case 'failure':
          if (b.name === undefined) {
            this.#err(b.pos, 'failure_route needs a name: failure_route[NAME] { … }');
            break;
          }
          if (this.#failure.has(b.name)) dup(b, `failure_route[${b.name}]`);
          this.#failure.set(b.name, b);
          add('failure', b);
          break;
        case 'onreply':
        case 'reply':
          if (b.name !== undefined) {
            this.#err(
              b.namePos,
              `onreply_route[${b.name}] (a named reply route, armed by t_on_reply) is not supported by flowgate: use the main onreply_route { … }`,
            );
            break;
          }
          if (onreply !== undefined) dup(b, 'the reply route (onreply_route / reply_route)');
          onreply = b;
          add('reply', b);
          break;
        case 'branch':
          this.#err(
            b.pos,
            `branch_route${b.name === undefined ? '' : `[${b.name}]`} is not supported by flowgate (its proxy core runs no route per branch before sending): move the per-branch work into the request route before t_relay()`,
          );
          break;
        case 'onsend':
          this.#err(b.pos, 'onsend_route is not supported by flowgate');
          break;
        case 'event': {
          const name = b.name ?? '';
          const bf = /^tm:branch-failure:(.+)$/.exec(name);
          if (bf?.[1] !== undefined) {
            if (this.#branchFailure.has(bf[1])) dup(b, `event_route[${name}]`);
            this.#branchFailure.set(bf[1], b);
            add('branch-failure', b);
            break;
          }
          const why = EVENT_ROUTES[name];
          if (why !== undefined) {
            skipped.push({ block: b, why });
            this.#notes.push({ pos: b.namePos, message: `event_route[${name}] is ${why}` });
            // checked like any route (functions, variables) once the others are known; never run
            add(name === 'xhttp:request' ? 'xhttp' : 'event', b);
            break;
          }
          this.#err(
            b.namePos,
            `event_route[${name}] is not supported by flowgate (supported: tm:branch-failure:NAME, ${Object.keys(EVENT_ROUTES).join(', ')})`,
          );
          break;
        }
      }
    }
    return { request, onreply, skipped };
  }

  /** First pass: which routes each route calls, and whether it calls an async function. */
  #scan(body: readonly Stmt[]): void {
    const info = this.#cur as RouteInfo;
    const expr = (e: Expr): void => {
      switch (e.k) {
        case 'call': {
          const f = FUNCTIONS[e.name];
          if (f?.async === true) info.asyncFn = true;
          for (const a of e.args) expr(a);
          break;
        }
        case 'route':
          if (typeof e.name === 'string') info.calls.add(e.name);
          else info.dynamicCall = true;
          break;
        case 'unary':
          expr(e.e);
          break;
        case 'bin':
          expr(e.l);
          expr(e.r);
          break;
        default:
          break;
      }
    };
    const stmt = (s: Stmt): void => {
      switch (s.k) {
        case 'expr':
          expr(s.e);
          break;
        case 'block':
          s.body.forEach(stmt);
          break;
        case 'if':
          expr(s.cond);
          stmt(s.then);
          if (s.else !== undefined) stmt(s.else);
          break;
        case 'switch':
          expr(s.e);
          for (const c of s.cases) c.body.forEach(stmt);
          break;
        case 'while':
          expr(s.cond);
          stmt(s.body);
          break;
        case 'return':
          if (s.e !== undefined) expr(s.e);
          break;
        case 'assign':
          expr(s.value);
          break;
        default:
          break;
      }
    };
    body.forEach(stmt);
  }

  /** A route is async when it calls an async function or an async route (to a fixed point). */
  #propagateAsync(): void {
    const named = this.#named;
    const set = new Set<RouteBlock>();
    for (const [b, i] of this.#info) if (i.asyncFn) set.add(b);
    for (let changed = true; changed; ) {
      changed = false;
      const anyNamedAsync = [...named.values()].some((b) => set.has(b));
      for (const [b, i] of this.#info) {
        if (set.has(b)) continue;
        const calls = [...i.calls].some((n) => {
          const r = named.get(n);
          return r !== undefined && set.has(r);
        });
        if (calls || (i.dynamicCall && anyNamedAsync)) {
          set.add(b);
          changed = true;
        }
      }
    }
    this.#async = set;
  }

  #route(b: RouteBlock, k: string): RouteOut {
    this.#cur = this.#info.get(b);
    this.#usesCtx = false;
    this.#loop = 0;
    this.#switchDepth = 0;
    const body: string[] = [];
    for (const s of b.body) body.push(...this.#stmt(s, '  '));
    const out = { key: k, async: this.#async.has(b), body, usesCtx: this.#usesCtx, block: b };
    this.#cur = undefined;
    return out;
  }

  /** The xhttp route: which ports it accepts WebSocket upgrades on (`$Rp != N` / `$Rp == N`). */
  #xhttp(skipped: readonly { block: RouteBlock }[]): { ports: number[]; handshake: boolean } {
    const ports: number[] = [];
    let handshake = false;
    const b = skipped.find((x) => x.block.name === 'xhttp:request')?.block;
    if (b === undefined) return { ports, handshake };
    const expr = (e: Expr): void => {
      if (e.k === 'bin') {
        const rp = (x: Expr): boolean =>
          (x.k === 'pv' && x.pv.name === 'Rp') || (x.k === 'id' && x.name === 'dst_port');
        if ((e.op === '==' || e.op === '!=') && rp(e.l) && e.r.k === 'num') ports.push(e.r.v);
        if ((e.op === '==' || e.op === '!=') && rp(e.r) && e.l.k === 'num') ports.push(e.l.v);
        expr(e.l);
        expr(e.r);
      } else if (e.k === 'unary') expr(e.e);
      else if (e.k === 'call') {
        if (e.name === 'ws_handle_handshake') handshake = true;
        e.args.forEach(expr);
      }
    };
    const stmt = (s: Stmt): void => {
      if (s.k === 'expr') expr(s.e);
      else if (s.k === 'if') {
        expr(s.cond);
        stmt(s.then);
        if (s.else !== undefined) stmt(s.else);
      } else if (s.k === 'block') s.body.forEach(stmt);
      else if (s.k === 'switch') {
        expr(s.e);
        for (const c of s.cases) c.body.forEach(stmt);
      } else if (s.k === 'while') {
        expr(s.cond);
        stmt(s.body);
      }
    };
    b.body.forEach(stmt);
    return { ports: [...new Set(ports)], handshake };
  }

  // ------------------------------------------------------------------ statements

  #stmt(s: Stmt, ind: string): string[] {
    const cur = this.#cur as RouteInfo;
    switch (s.k) {
      case 'expr': {
        if (s.e.k === 'call' || s.e.k === 'route') {
          const c = s.e.k === 'call' ? this.#call(s.e, true) : this.#routeCall(s.e, true);
          return [`${ind}${c.c};`];
        }
        this.#err(s.pos, 'syntax error: this statement does nothing (expected a function call)');
        return [];
      }
      case 'block': {
        const out: string[] = [`${ind}{`];
        for (const x of s.body) out.push(...this.#stmt(x, `${ind}  `));
        out.push(`${ind}}`);
        return out;
      }
      case 'if': {
        const out = [`${ind}if (${this.#cond(s.cond)}) {`];
        out.push(...this.#inner(s.then, ind));
        let e = s.else;
        while (e !== undefined) {
          if (e.k === 'if') {
            out.push(`${ind}} else if (${this.#cond(e.cond)}) {`);
            out.push(...this.#inner(e.then, ind));
            e = e.else;
          } else {
            out.push(`${ind}} else {`);
            out.push(...this.#inner(e, ind));
            e = undefined;
          }
        }
        out.push(`${ind}}`);
        return out;
      }
      case 'while': {
        // Kamailio's max_while_loops: a loop ends after that many iterations
        this.#loop++;
        const max = this.#opts.maxWhileLoops ?? 100;
        const n = `loops${this.#loop}`;
        const out = [
          `${ind}for (let ${n} = 0; ${this.#cond(s.cond)}; ${n}++) {`,
          `${ind}  if (${n} >= ${max}) break;`,
          ...this.#inner(s.body, ind),
          `${ind}}`,
        ];
        this.#loop--;
        return out;
      }
      case 'switch':
        return this.#switch(s, ind);
      case 'break':
        if (this.#loop === 0 && this.#switchDepth === 0) {
          this.#err(s.pos, "'break' outside a switch or while");
          return [];
        }
        return [`${ind}break;`];
      case 'exit':
        this.#usesCtx = true;
        return [`${ind}ctx.exit();`];
      case 'drop':
        this.#usesCtx = true;
        return [`${ind}ctx.drop();`];
      case 'return': {
        this.#usesCtx = true;
        const sub = cur.block.type === 'route' && cur.block.name !== undefined;
        if (s.e === undefined)
          return sub ? [`${ind}ctx.$rc = 1;`, `${ind}return;`] : [`${ind}return;`];
        if (s.e.k === 'num') {
          if (s.e.v === 0) return [`${ind}ctx.exit();`];
          return sub ? [`${ind}ctx.$rc = ${s.e.v};`, `${ind}return;`] : [`${ind}return;`];
        }
        const v = this.#expr(s.e);
        this.#helper('ret');
        this.#helper('int');
        return [`${ind}ret(ctx, ${this.#asInt(v).c});`, `${ind}return;`];
      }
      case 'assign':
        return this.#assign(s, ind);
    }
  }

  #inner(s: Stmt, ind: string): string[] {
    if (s.k === 'block') return s.body.flatMap((x) => this.#stmt(x, `${ind}  `));
    return this.#stmt(s, `${ind}  `);
  }

  #switch(s: Stmt & { k: 'switch' }, ind: string): string[] {
    const v = this.#expr(s.e);
    const labels = s.cases.map((c) => c.label).filter((l): l is Expr => l !== undefined);
    const strings = labels.some((l) => l.k === 'str');
    const numbers = labels.some((l) => l.k === 'num');
    if (strings && numbers) {
      this.#err(s.pos, 'a switch compares numbers or strings, not both');
      return [];
    }
    let head: string;
    if (strings) head = v.t === 'str' && !v.nullable ? v.c : `String(${v.c} ?? '')`;
    else head = this.#asInt(v).c;
    const out = [`${ind}switch (${head}) {`];
    this.#switchDepth++;
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
        this.#err(c.pos, 'a case value is a number or a string');
        continue;
      }
      if (seen.has(lbl))
        this.#err(
          c.pos,
          `case ${lbl === 'default' ? 'default' : lbl} appears twice in this switch`,
        );
      seen.add(lbl);
      out.push(lbl === 'default' ? `${ind}  default:` : `${ind}  case ${lbl}:`);
      for (const x of c.body) out.push(...this.#stmt(x, `${ind}    `));
    }
    this.#switchDepth--;
    out.push(`${ind}}`);
    return out;
  }

  #assign(s: Stmt & { k: 'assign' }, ind: string): string[] {
    const t = s.target;
    const d = PVS[t.name];
    if (d === undefined) {
      this.#unknownPv(t, s.pos);
      return [];
    }
    if (d.write === undefined) {
      this.#err(
        s.pos,
        `${t.text} cannot be assigned in flowgate${t.name === 'rU' || t.name === 'rd' ? ' (assign the whole $ru)' : ''}`,
      );
      return [];
    }
    if (!this.#checkPvShape(t, s.pos, d.arg === true)) return [];
    this.#usesCtx = true;
    const isNull = s.value.k === 'pv' && s.value.pv.name === 'null';
    let val: string;
    if (t.name === 'du') {
      if (isNull) val = 'undefined';
      else {
        const v = this.#expr(s.value);
        val = v.t === 'str' ? v.c : `String(${v.c})`;
        this.#checkUri(s.value);
      }
    } else if (t.name === 'ru') {
      if (isNull) {
        this.#err(s.pos, '$ru cannot be set to $null');
        return [];
      }
      const v = this.#expr(s.value);
      val = v.t === 'str' && !v.nullable ? v.c : `String(${v.c} ?? '')`;
      this.#checkUri(s.value);
    } else {
      // $var / $avp: $null resets to 0 (Kamailio)
      if (isNull) val = '0';
      else {
        const v = this.#expr(s.value);
        val = v.t === 'bool' ? `(${v.c} ? 1 : 0)` : v.c;
      }
      if (t.name === 'avp') this.#helper('avps');
    }
    const a = t.arg === undefined ? '' : jsString(t.arg);
    return [`${ind}${d.write.replace('A', a).replace('V', val)};`];
  }

  /** A literal SIP URI assigned to $du / $ru must be one (a missing #!subst shows here). */
  #checkUri(e: Expr): void {
    if (e.k !== 'str') return;
    const v = e.v;
    const m = /^(sips?):(?:[^@;?]*@)?(\[[^\]]*\]|[^:;?]*)(?::([^;?]*))?/i.exec(v);
    const caps = (s: string): string[] =>
      [...s.matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g)].map((x) => x[0]);
    const bad = caps(v);
    if (bad.length > 0) {
      const names = this.#prog.substNames;
      const near = nearest(bad[0] as string, [...names, ...this.#prog.defines.keys()]);
      this.#err(
        e.pos,
        `"${v}": ${bad.join(', ')} looks like a #!subst name, but no #!subst or #!substdef replaces it${near === undefined ? '' : ` (did you mean ${near}?)`}${names.length > 0 ? `; defined: ${names.join(', ')}` : ''}`,
      );
      return;
    }
    if (m === null) {
      this.#err(e.pos, `"${v}" is not a SIP URI (expected sip:host[:port][;params])`);
      return;
    }
    const port = m[3];
    if (port !== undefined && !/^\d{1,5}$/.test(port))
      this.#err(e.pos, `"${v}" is not a SIP URI: the port '${port}' is not a number`);
  }

  // ------------------------------------------------------------------ expressions

  #cond(e: Expr): string {
    const v = this.#expr(e);
    if (v.t === 'bool') return v.c;
    if (v.t === 'int' && !v.nullable) return `${this.#paren(v, P.rel + 1)} > 0`;
    this.#helper('cond');
    this.#helper('int');
    return `cond(${v.c})`;
  }

  /** The code, in parentheses when it binds less tightly than `min`. */
  #paren(v: Code, min: number): string {
    return v.p >= min ? v.c : `(${v.c})`;
  }

  /** An integer expression (`int()` for a value of unknown type). */
  #asInt(v: Code): Code {
    if (v.t === 'int') return v.nullable ? code(`(${v.c} ?? 0)`, 'int') : v;
    if (v.t === 'bool') return code(`(${v.c} ? 1 : 0)`, 'int');
    this.#helper('int');
    return code(`int(${v.c})`, 'int');
  }

  /** An operand of && || !: true when not 0 (Kamailio's logical operators, as C). */
  #asBool(v: Code, min: number): string {
    if (v.t === 'bool') return this.#paren(v, min);
    if (v.t === 'int' && !v.nullable)
      return this.#paren(code(`${this.#paren(v, P.eq + 1)} !== 0`, 'bool', P.eq), min);
    this.#helper('truth');
    this.#helper('int');
    return `truth(${v.c})`;
  }

  #int(v: Code, min: number): string {
    return this.#paren(this.#asInt(v), min);
  }

  #expr(e: Expr): Code {
    switch (e.k) {
      case 'num':
        return code(e.v < 0 ? `(${e.v})` : String(e.v), 'int');
      case 'str':
        return code(jsString(e.v), 'str');
      case 'pv':
        return this.#pv(e.pv, e.pos);
      case 'select':
        return this.#select(e);
      case 'id': {
        const pv = KEYWORD_PVS[e.name];
        if (pv !== undefined)
          return this.#pv(
            { name: pv, arg: undefined, index: undefined, transforms: undefined, text: e.name },
            e.pos,
          );
        this.#unknownName(e.name, e.pos);
        return UNDEF;
      }
      case 'call':
        return this.#call(e, false);
      case 'route':
        return this.#routeCall(e, false);
      case 'unary': {
        const v = this.#expr(e.e);
        if (e.op === '!') return code(`!${this.#asBool(v, P.unary)}`, 'bool', P.unary);
        return code(`${e.op}${this.#int(v, P.unary)}`, 'int', P.unary);
      }
      case 'bin':
        return this.#bin(e);
    }
  }

  #bin(e: Expr & { k: 'bin' }): Code {
    const op = e.op;
    if (op === '&&' || op === '||') {
      const p = op === '&&' ? P.and : P.or;
      const l = this.#expr(e.l);
      const r = this.#expr(e.r);
      return code(`${this.#asBool(l, p)} ${op} ${this.#asBool(r, p + 1)}`, 'bool', p);
    }
    if (op === '=~' || op === '!~') return this.#match(e);
    // `uri == myself`
    if ((op === '==' || op === '!=') && (isMyself(e.r) || isMyself(e.l))) {
      const other = isMyself(e.r) ? e.l : e.r;
      const v = this.#expr(other);
      this.#usesCtx = true;
      const call = `ctx.is_myself(${this.#stringOf(v)})`;
      return op === '==' ? code(call, 'bool') : code(`!${call}`, 'bool', P.unary);
    }
    if (op === '==' || op === '!=') return this.#equality(e);
    const l = this.#expr(e.l);
    const r = this.#expr(e.r);
    if (op === '<' || op === '>' || op === '<=' || op === '>=') {
      if ((l.t === 'int' || r.t === 'int') && l.t !== 'str' && r.t !== 'str')
        return code(`${this.#int(l, P.rel)} ${op} ${this.#int(r, P.rel + 1)}`, 'bool', P.rel);
      this.#helper('cmp');
      this.#helper('int');
      return code(`cmp(${l.c}, ${r.c}) ${op} 0`, 'bool', P.rel);
    }
    if (op === '+') {
      if (l.t === 'str') {
        const lc = l.nullable ? `(${l.c} ?? '')` : this.#paren(l, P.add);
        const rc = r.t === 'str' && !r.nullable ? this.#paren(r, P.add + 1) : this.#stringOf(r);
        return code(`${lc} + ${rc}`, 'str', P.add);
      }
      if (l.t === 'int' && (r.t === 'int' || r.t === 'bool'))
        return code(`${this.#int(l, P.add)} + ${this.#int(r, P.add + 1)}`, 'int', P.add);
      this.#helper('add');
      this.#helper('int');
      return code(`add(${l.c}, ${r.c})`, 'any');
    }
    if (op === '/' || op === '%') {
      this.#helper('idiv');
      return code(`idiv(${this.#asInt(l).c}, ${this.#asInt(r).c}, ${op === '%'})`, 'int');
    }
    const p = OP_PREC[op] ?? P.mul;
    return code(`${this.#int(l, p)} ${op} ${this.#int(r, p + 1)}`, 'int', p);
  }

  #equality(e: Expr & { k: 'bin' }): Code {
    const neg = e.op === '!=';
    const isNull = (x: Expr): boolean => x.k === 'pv' && x.pv.name === 'null';
    const cmpOp = neg ? '!==' : '===';
    // `$rU == $null`: undefined takes the other side's type (Kamailio), so "" is null too
    if (isNull(e.l) || isNull(e.r)) {
      const other = isNull(e.r) ? e.l : e.r;
      const v = this.#expr(other);
      if (v.t === 'str') return code(`(${v.c} ?? '') ${cmpOp} ''`, 'bool', P.eq);
      if (v.t === 'int') return code(`(${v.c} ?? 0) ${cmpOp} 0`, 'bool', P.eq);
      if (v.t === 'bool') return neg ? v : code(`!${this.#paren(v, P.unary)}`, 'bool', P.unary);
      return code(`${this.#paren(v, P.eq)} ${cmpOp} undefined`, 'bool', P.eq);
    }
    const l = this.#expr(e.l);
    const r = this.#expr(e.r);
    if (l.t === 'str' && r.t === 'str') {
      // a non-empty literal on one side: undefined cannot equal it, no default needed
      const lit = (x: Expr): boolean => x.k === 'str' && x.v !== '';
      const lc = l.nullable && !lit(e.r) ? `(${l.c} ?? '')` : this.#paren(l, P.eq);
      const rc = r.nullable && !lit(e.l) ? `(${r.c} ?? '')` : this.#paren(r, P.eq + 1);
      return code(`${lc} ${cmpOp} ${rc}`, 'bool', P.eq);
    }
    if ((l.t === 'int' || l.t === 'bool') && (r.t === 'int' || r.t === 'bool'))
      return code(`${this.#int(l, P.eq)} ${cmpOp} ${this.#int(r, P.eq + 1)}`, 'bool', P.eq);
    this.#helper('eq');
    this.#helper('int');
    return neg ? code(`!eq(${l.c}, ${r.c})`, 'bool', P.unary) : code(`eq(${l.c}, ${r.c})`, 'bool');
  }

  #match(e: Expr & { k: 'bin' }): Code {
    const l = this.#expr(e.l);
    this.#usesCtx = true;
    let re: string;
    if (e.r.k === 'str') {
      const r = posixRegex(e.r.v);
      if (!r.ok) {
        this.#err(e.r.pos, `bad regular expression "${e.r.v}": ${r.message}`);
        re = 'undefined';
      } else re = this.#regex(r.source);
    } else {
      const r = this.#expr(e.r);
      re = `String(${r.c} ?? '')`;
    }
    const c = `ctx.match(${l.c}, ${re})`;
    return e.op === '=~' ? code(c, 'bool') : code(`!${c}`, 'bool', P.unary);
  }

  /** A case-insensitive regular expression constant (compiled once, at load). */
  #regex(source: string): string {
    let name = this.#regexes.get(source);
    if (name === undefined) {
      name = `RE_${this.#regexes.size + 1}`;
      this.#regexes.set(source, name);
      const lit = `new RegExp(${jsString(source)}, 'i')`;
      this.#helpers.set(name, { ts: `const ${name} = ${lit};`, js: `const ${name} = ${lit};` });
    }
    return name;
  }

  #helper(name: string): void {
    const h = HELPERS[name];
    if (h !== undefined && !this.#helpers.has(name)) this.#helpers.set(name, h);
  }

  #select(e: Expr & { k: 'select' }): Code {
    const [first, ...rest] = e.sel.parts;
    if (typeof first === 'string' && SELECTS.includes(first)) {
      const n = rest.length === 0 ? 1 : rest[0];
      if (rest.length <= 1 && typeof n === 'number' && n >= 1) {
        this.#usesCtx = true;
        return { c: `ctx.via(${n})`, t: 'str', nullable: true, p: P.atom };
      }
    }
    this.#err(
      e.pos,
      `the select ${e.sel.text} is not supported by flowgate (it has @via[N]; for a header use $hdr(Name))`,
    );
    return UNDEF;
  }

  #unknownName(name: string, pos: Pos): void {
    if (/^[A-Z][A-Z0-9_]*$/.test(name)) {
      const known = [...this.#prog.defines.keys(), ...this.#prog.substNames];
      this.#err(
        pos,
        `'${name}' is not defined: no #!define, #!substdef or -A defines it${didYouMean(name, known)}`,
      );
      return;
    }
    this.#err(
      pos,
      `unknown name '${name}' (a value is a "string", a number, a $variable or a function call)${didYouMean(name, Object.keys(KEYWORD_PVS))}`,
    );
  }

  #unknownPv(pv: PvRef, pos: Pos): void {
    this.#err(
      pos,
      `unknown pseudo-variable ${pv.text}${didYouMean(
        `$${pv.name}`,
        Object.keys(PVS).map((n) => `$${n}`),
      )}`,
    );
  }

  /** Shape checks: argument, index, transformations. */
  #checkPvShape(pv: PvRef, pos: Pos, wantsArg: boolean): boolean {
    if (pv.transforms !== undefined) {
      this.#err(
        pos,
        `transformations (${pv.transforms} in ${pv.text}) are not supported by flowgate`,
      );
      return false;
    }
    if (wantsArg && (pv.arg === undefined || pv.arg === '')) {
      this.#err(pos, `$${pv.name} needs a name in parentheses: $${pv.name}(name)`);
      return false;
    }
    if (!wantsArg && pv.arg !== undefined) {
      this.#err(pos, `$${pv.name} takes no name in parentheses (${pv.text})`);
      return false;
    }
    if (pv.index !== undefined && pv.name !== 'hdr') {
      this.#err(pos, `an index [${pv.index}] is supported on $(hdr(Name)[N]) only (${pv.text})`);
      return false;
    }
    return true;
  }

  #pv(pv: PvRef, pos: Pos): Code {
    const d = PVS[pv.name];
    if (d === undefined) {
      this.#unknownPv(pv, pos);
      return UNDEF;
    }
    if (!this.#checkPvShape(pv, pos, d.arg === true)) return UNDEF;
    if (pv.name === 'null') return UNDEF;
    this.#usesCtx = true;
    if (pv.name === 'avp') this.#helper('avps');
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

  // ------------------------------------------------------------------ calls

  #routeCall(e: Expr & { k: 'route' }, stmt: boolean): Code {
    this.#usesCtx = true;
    let nameCode: string;
    let target: RouteBlock | undefined;
    if (typeof e.name === 'string') {
      target = this.#named.get(e.name);
      if (target === undefined) {
        this.#err(
          e.pos,
          `route(${e.name}): there is no route[${e.name}]${didYouMean(e.name, [...this.#named.keys()])}`,
        );
      }
      nameCode = jsString(e.name);
    } else {
      const v = this.#expr(e.name);
      nameCode = v.t === 'str' && !v.nullable ? v.c : `String(${v.c} ?? '')`;
    }
    const isAsync =
      target !== undefined
        ? this.#async.has(target)
        : [...this.#named.values()].some((b) => this.#async.has(b));
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

  #call(e: Expr & { k: 'call' }, stmt: boolean): Code {
    const f = FUNCTIONS[e.name];
    const fail = (): Code => code('false', 'bool');
    if (f === undefined) {
      const why = UNSUPPORTED_FUNCTIONS[e.name];
      if (why !== undefined) this.#err(e.pos, `${e.name}() is not supported by flowgate: ${why}`);
      else if (['route', 'exit', 'drop', 'return', 'break'].includes(e.name))
        this.#err(e.pos, `${e.name} is a statement here`);
      else
        this.#err(
          e.pos,
          `unknown function '${e.name}'${didYouMean(e.name, Object.keys(FUNCTIONS))}`,
        );
      return fail();
    }
    const cur = this.#cur as RouteInfo;
    if (f.module !== 'core' && !this.#modules.has(f.module)) {
      this.#err(
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
      this.#err(
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
      this.#err(
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
      const a = this.#arg(e.name, fa, i, e.args[i] as Expr);
      if (a === undefined) return fail();
      args.push(a);
    }
    this.#usesCtx = true;
    let method = f.method ?? e.name;
    const shorthand = XLOG_SHORTHANDS[e.name];
    if (shorthand !== undefined) {
      args.unshift(jsString(shorthand));
      method = 'xlog';
    }
    if (e.name === 'mf_process_maxfwd_header' && this.#opts.maxfwdLimit !== undefined)
      args.push(String(this.#opts.maxfwdLimit));
    if (cur.kind === 'xhttp' || cur.kind === 'event') return code('false', 'bool');
    const call = `${f.async === true ? 'await ' : ''}ctx.${method}(${args.join(', ')})`;
    return {
      c: f.async === true && !stmt ? `(${call})` : call,
      t: 'bool',
      nullable: false,
      p: P.atom,
    };
  }

  #arg(fn: string, f: CfgFunction, i: number, a: Expr): string | undefined {
    const kind = f.args[i] as ArgKind;
    const lit = a.k === 'str' ? a.v : a.k === 'num' ? String(a.v) : undefined;
    switch (kind) {
      case 'int': {
        if (a.k === 'num') return String(a.v);
        if (a.k === 'str') {
          if (!/^\s*-?\d+\s*$/.test(a.v)) {
            this.#err(a.pos, `${fn}(): argument ${i + 1} must be a number, got "${a.v}"`);
            return undefined;
          }
          return jsString(a.v);
        }
        return this.#asInt(this.#expr(a)).c;
      }
      case 'level':
        if (lit === undefined || !XLOG_LEVELS.includes(lit)) {
          // xlog("text") has one argument; two: the first is the level
          this.#err(
            a.pos,
            `${fn}(): unknown log level ${lit === undefined ? 'expression' : `"${lit}"`}${lit === undefined ? '' : didYouMean(lit, XLOG_LEVELS, '"')} (levels: ${XLOG_LEVELS.join(', ')})`,
          );
          return undefined;
        }
        return jsString(lit);
      case 'failure-route':
      case 'branch-failure-route': {
        if (lit === undefined) {
          this.#err(a.pos, `${fn}(): the route name must be a literal string`);
          return undefined;
        }
        const table = kind === 'failure-route' ? this.#failure : this.#branchFailure;
        if (!table.has(lit)) {
          const what =
            kind === 'failure-route'
              ? `failure_route[${lit}]`
              : `event_route[tm:branch-failure:${lit}]`;
          this.#err(
            a.pos,
            `${fn}("${lit}"): there is no ${what}${didYouMean(lit, [...table.keys()], '"')}`,
          );
          return undefined;
        }
        return jsString(lit);
      }
      case 'regex': {
        if (a.k !== 'str') return `String(${this.#expr(a).c} ?? '')`;
        const r = posixRegex(a.v);
        if (!r.ok) {
          this.#err(a.pos, `${fn}(): bad regular expression "${a.v}": ${r.message}`);
          return undefined;
        }
        return jsString(r.source);
      }
      case 'table':
      case 'static':
        if (lit !== undefined) return jsString(lit);
        return this.#stringOf(this.#expr(a));
      case 'fmt': {
        if (a.k === 'num') return jsString(String(a.v));
        if (a.k !== 'str') return this.#stringOf(this.#expr(a));
        if (fn === 'insert_hf' || fn === 'append_hf' || fn.endsWith('reply'))
          this.#checkHeaderText(a);
        const parts = this.#format(a.v, a.pos);
        if (parts === undefined) return undefined;
        const formatsItself = f.formats?.includes(i) === true;
        if (parts.every((p) => typeof p === 'string')) return jsString(a.v);
        if (
          formatsItself &&
          parts.every((p) => typeof p === 'string' || PVS[p.name]?.inFormat === true)
        )
          return jsString(a.v);
        // substituted here, once per call, from the compiled pieces
        this.#helper('fmt');
        return parts
          .map((p) => (typeof p === 'string' ? jsString(p) : `fmt(${this.#pv(p, a.pos).c})`))
          .join(' + ');
      }
    }
  }

  #stringOf(v: Code): string {
    if (v.t === 'str' && !v.nullable) return v.c;
    if (v.t === 'int' && !v.nullable) return `String(${v.c})`;
    return `String(${v.c} ?? '')`;
  }

  /** An ALL_CAPS_NAME left in a header text: a #!subst / #!substdef that is missing. */
  #checkHeaderText(a: Expr & { k: 'str' }): void {
    const m = /\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/.exec(a.v);
    if (m === null) return;
    const names = this.#prog.substNames;
    this.#err(
      a.pos,
      `"${a.v.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}": ${m[0]} looks like a #!subst name, but no #!subst or #!substdef replaces it${didYouMean(m[0], [...names, ...this.#prog.defines.keys()])}`,
    );
  }

  /** A format string's pieces: text and pseudo-variables (checked). */
  #format(s: string, pos: Pos): (string | PvRef)[] | undefined {
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
          this.#err(pos, `"${s}": unterminated $( … ) in the format`);
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
              this.#err(pos, `"${s}": unterminated $name( … ) in the format`);
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
        this.#unknownPv(
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
      } else if (!this.#checkPvShape(pv, at, PVS[pv.name]?.arg === true)) ok = false;
      if (text !== '') out.push(text);
      text = '';
      out.push(pv ?? raw);
      i = j - 1;
    }
    if (text !== '') out.push(text);
    return ok ? out : undefined;
  }
}

const ALL_KINDS: readonly RouteKind[] = [
  'request',
  'failure',
  'branch-failure',
  'reply',
  'xhttp',
  'event',
];

function isMyself(e: Expr): boolean {
  return e.k === 'id' && e.name === 'myself';
}

function parsePvText(text: string): PvRef | undefined {
  if (text === '$?')
    return { name: '?', arg: undefined, index: undefined, transforms: undefined, text };
  let inner = text.slice(1);
  const wrapped = inner.startsWith('(') && inner.endsWith(')');
  if (wrapped) inner = inner.slice(1, -1);
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)(?:\((.*?)\))?(?:\[(\*|-?\d+)\])?(\{.*\})?$/s.exec(inner);
  if (m === null) return undefined;
  return {
    name: m[1] as string,
    arg: m[2],
    index: m[3] === undefined ? undefined : m[3] === '*' ? '*' : Number(m[3]),
    transforms: m[4],
    text,
  };
}
