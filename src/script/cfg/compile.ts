import type { Expr, Program, RouteBlock, Stmt } from './ast.js';
import { StmtCompiler } from './compile-stmt.js';
import type { CodegenOptions, CompiledRoutes, RouteInfo, RouteOut } from './compiler-base.js';
import { checkDeclarations } from './declarations.js';
import type { CfgIssue } from './errors.js';
import { EVENT_ROUTES, FUNCTIONS, type RouteKind } from './registry.js';

export { jsString } from './codegen.js';
export type { CodegenOptions, CompiledRoutes } from './compiler-base.js';
export { posixRegex } from './helpers.js';

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

class Compiler extends StmtCompiler {
  run(): { ok: true; routes: CompiledRoutes } | { ok: false; issues: CfgIssue[] } {
    for (const m of checkDeclarations(this.prog, (p, msg) => this.err(p, msg), this.notes))
      this.modules.add(m);
    const entries = this.collectRoutes();
    // a first pass finds calls and async functions; then async-ness propagates through route()
    for (const b of this.info.keys()) {
      this.cur = this.info.get(b);
      this.scan(b.body);
    }
    this.cur = undefined;
    this.propagateAsync();
    const out = (b: RouteBlock, k: string): RouteOut => this.route(b, k);
    const request =
      entries.request === undefined ? undefined : out(entries.request, 'request_route');
    if (entries.request === undefined && this.issues.length === 0)
      this.err(
        { file: this.prog.files[0] ?? '', line: 1, col: 1 },
        'the configuration has no request_route { … }: flowgate needs one to handle requests',
      );
    const onreply =
      entries.onreply === undefined ? undefined : out(entries.onreply, 'onreply_route');
    const route = [...this.named].map(([n, b]) => out(b, n));
    const failure = [...this.failure].map(([n, b]) => out(b, n));
    const event = [...this.branchFailure].map(([n, b]) => out(b, `tm:branch-failure:${n}`));
    // checked like any route, never run: what they would need is not kept
    const helpers = new Map(this.helpers);
    const regexes = new Map(this.regexes);
    for (const sk of entries.skipped) out(sk.block, sk.block.name ?? '');
    this.helpers.clear();
    for (const [k, v] of helpers) this.helpers.set(k, v);
    this.regexes.clear();
    for (const [k, v] of regexes) this.regexes.set(k, v);
    const ws = this.xhttp(entries.skipped);
    if (this.issues.length > 0) return { ok: false, issues: this.sorted() };
    return {
      ok: true,
      routes: {
        request,
        onreply,
        route,
        failure,
        event,
        helpers: this.helpers,
        skipped: entries.skipped,
        wsPorts: ws.ports,
        wsHandshake: ws.handshake,
        modules: this.modules,
        notes: this.notes,
      },
    };
  }

  protected sorted(): CfgIssue[] {
    const files = this.prog.files;
    return this.issues.sort(
      (a, b) => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line || a.col - b.col,
    );
  }

  // ------------------------------------------------------------------ routes

  protected collectRoutes(): {
    request: RouteBlock | undefined;
    onreply: RouteBlock | undefined;
    skipped: { block: RouteBlock; why: string }[];
  } {
    let request: RouteBlock | undefined;
    let onreply: RouteBlock | undefined;
    const skipped: { block: RouteBlock; why: string }[] = [];
    const add = (kind: RouteKind, b: RouteBlock): void => {
      this.info.set(b, { block: b, kind, calls: new Set(), dynamicCall: false, asyncFn: false });
    };
    const dup = (b: RouteBlock, what: string): void =>
      this.err(b.namePos, `${what} is defined twice`);
    for (const b of this.prog.routes) {
      switch (b.type) {
        case 'request':
        case 'route':
          if (b.type === 'request' || b.name === undefined) {
            if (b.name !== undefined) {
              this.err(b.namePos, 'request_route takes no name');
              break;
            }
            if (request !== undefined) dup(b, 'the main route (request_route / route)');
            request = b;
            add('request', b);
            break;
          }
          if (this.named.has(b.name)) dup(b, `route[${b.name}]`);
          this.named.set(b.name, b);
          add('request', b);
          break;
        case 'failure':
          if (b.name === undefined) {
            this.err(b.pos, 'failure_route needs a name: failure_route[NAME] { … }');
            break;
          }
          if (this.failure.has(b.name)) dup(b, `failure_route[${b.name}]`);
          this.failure.set(b.name, b);
          add('failure', b);
          break;
        case 'onreply':
        case 'reply':
          if (b.name !== undefined) {
            this.err(
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
          this.err(
            b.pos,
            `branch_route${b.name === undefined ? '' : `[${b.name}]`} is not supported by flowgate (its proxy core runs no route per branch before sending): move the per-branch work into the request route before t_relay()`,
          );
          break;
        case 'onsend':
          this.err(b.pos, 'onsend_route is not supported by flowgate');
          break;
        case 'event': {
          const name = b.name ?? '';
          const bf = /^tm:branch-failure:(.+)$/.exec(name);
          if (bf?.[1] !== undefined) {
            if (this.branchFailure.has(bf[1])) dup(b, `event_route[${name}]`);
            this.branchFailure.set(bf[1], b);
            add('branch-failure', b);
            break;
          }
          const why = EVENT_ROUTES[name];
          if (why !== undefined) {
            skipped.push({ block: b, why });
            this.notes.push({ pos: b.namePos, message: `event_route[${name}] is ${why}` });
            // checked like any route (functions, variables) once the others are known; never run
            add(name === 'xhttp:request' ? 'xhttp' : 'event', b);
            break;
          }
          this.err(
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
  protected scan(body: readonly Stmt[]): void {
    const info = this.cur as RouteInfo;
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
  protected propagateAsync(): void {
    const named = this.named;
    const set = new Set<RouteBlock>();
    for (const [b, i] of this.info) if (i.asyncFn) set.add(b);
    for (let changed = true; changed; ) {
      changed = false;
      const anyNamedAsync = [...named.values()].some((b) => set.has(b));
      for (const [b, i] of this.info) {
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
    this.async = set;
  }

  protected route(b: RouteBlock, k: string): RouteOut {
    this.cur = this.info.get(b);
    this.usesCtx = false;
    this.loop = 0;
    this.switchDepth = 0;
    const body: string[] = [];
    for (const s of b.body) body.push(...this.stmt(s, '  '));
    const out = { key: k, async: this.async.has(b), body, usesCtx: this.usesCtx, block: b };
    this.cur = undefined;
    return out;
  }

  /** The xhttp route: which ports it accepts WebSocket upgrades on (`$Rp != N` / `$Rp == N`). */
  protected xhttp(skipped: readonly { block: RouteBlock }[]): {
    ports: number[];
    handshake: boolean;
  } {
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
}
