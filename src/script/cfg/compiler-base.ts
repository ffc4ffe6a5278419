import type { CfgNote, Pos, Program, RouteBlock } from './ast.js';
import { type CfgIssue, issueAt } from './errors.js';
import type { RouteKind } from './registry.js';

/** Options of the code generator. */
export interface CodegenOptions {
  /** `modparam("maxfwd", "max_limit", N)`: passed to every mf_process_maxfwd_header(). */
  readonly maxfwdLimit?: number | undefined;
  /** `max_while_loops=N` (Kamailio's default 100): a while loop stops after N iterations. */
  readonly maxWhileLoops?: number | undefined;
}

/** One generated route. */
export interface RouteOut {
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

/** What the first pass learns about a route: its kind, the routes it calls, whether it awaits. */
export interface RouteInfo {
  readonly block: RouteBlock;
  readonly kind: RouteKind;
  readonly calls: Set<string>;
  dynamicCall: boolean;
  asyncFn: boolean;
}

/**
 * The `.cfg` compiler's state and the methods every stage calls (the stages are layered
 * subclasses: expressions, calls, statements, routes; each file one stage).
 */
export abstract class CompilerBase {
  protected readonly prog: Program;
  protected readonly opts: CodegenOptions;
  protected readonly issues: CfgIssue[] = [];
  protected readonly notes: CfgNote[] = [];
  protected readonly modules = new Set<string>();
  protected readonly helpers = new Map<string, { ts: string; js: string }>();
  protected readonly regexes = new Map<string, string>();
  /** route[NAME] by name */
  protected readonly named = new Map<string, RouteBlock>();
  protected readonly failure = new Map<string, RouteBlock>();
  protected readonly branchFailure = new Map<string, RouteBlock>();
  protected readonly info = new Map<RouteBlock, RouteInfo>();
  protected async = new Set<RouteBlock>();
  /** The route being generated. */
  protected cur: RouteInfo | undefined;
  protected loop = 0;
  protected switchDepth = 0;
  protected usesCtx = false;

  constructor(prog: Program, opts: CodegenOptions) {
    this.prog = prog;
    this.opts = opts;
    this.notes.push(...prog.notes);
  }

  protected err(pos: Pos, message: string): void {
    this.issues.push(issueAt(pos, message));
  }
}
