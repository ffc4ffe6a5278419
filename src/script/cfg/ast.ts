/** Where something is written: the file as shown in messages, 1-based line and column. */
export interface Pos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/**
 * A pseudo-variable reference as written: `$rU` (name `rU`), `$hdr(Via)` (name `hdr`, arg `Via`),
 * `$(hdr(Require)[*])` (index `*`), `$var(rc)`, `$avp(x)`.
 */
export interface PvRef {
  readonly name: string;
  readonly arg: string | undefined;
  /** `[N]` (may be negative) or `[*]` of the `$(name(arg)[index])` form. */
  readonly index: number | '*' | undefined;
  /** `{…}` transformations of the `$(…{tr})` form (not supported; kept for the message). */
  readonly transforms: string | undefined;
  /** The reference as written (`$(hdr(Require)[*])`). */
  readonly text: string;
}

/** `@via[2]`, `@hf_value.Require`: the select's path as written. */
export interface SelectRef {
  readonly parts: readonly (string | number)[];
  readonly text: string;
}

export type Expr =
  | { readonly k: 'num'; readonly v: number; readonly pos: Pos }
  | { readonly k: 'str'; readonly v: string; readonly pos: Pos }
  | { readonly k: 'pv'; readonly pv: PvRef; readonly pos: Pos }
  | { readonly k: 'select'; readonly sel: SelectRef; readonly pos: Pos }
  /** A bare name in an expression: `myself`, `method`, `uri`, `status`, … */
  | { readonly k: 'id'; readonly name: string; readonly pos: Pos }
  | {
      readonly k: 'call';
      readonly name: string;
      readonly args: readonly Expr[];
      readonly pos: Pos;
    }
  /** `route(NAME)` (name) or `route($var(x))` (dynamic). */
  | { readonly k: 'route'; readonly name: string | Expr; readonly pos: Pos }
  | { readonly k: 'unary'; readonly op: '!' | '-' | '~'; readonly e: Expr; readonly pos: Pos }
  | {
      readonly k: 'bin';
      readonly op: BinOp;
      readonly l: Expr;
      readonly r: Expr;
      readonly pos: Pos;
    };

export type BinOp =
  | '||'
  | '&&'
  | '=='
  | '!='
  | '=~'
  | '!~'
  | '<'
  | '>'
  | '<='
  | '>='
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '|'
  | '&'
  | '^'
  | '<<'
  | '>>';

/** One `case X:` / `default:` label of a switch and the statements after it (until the next label). */
export interface SwitchCase {
  /** undefined: `default`. */
  readonly label: Expr | undefined;
  readonly body: readonly Stmt[];
  readonly pos: Pos;
}

export type Stmt =
  | { readonly k: 'expr'; readonly e: Expr; readonly pos: Pos }
  | { readonly k: 'block'; readonly body: readonly Stmt[]; readonly pos: Pos }
  | {
      readonly k: 'if';
      readonly cond: Expr;
      readonly then: Stmt;
      readonly else: Stmt | undefined;
      readonly pos: Pos;
    }
  | {
      readonly k: 'switch';
      readonly e: Expr;
      readonly cases: readonly SwitchCase[];
      readonly pos: Pos;
    }
  | { readonly k: 'while'; readonly cond: Expr; readonly body: Stmt; readonly pos: Pos }
  | { readonly k: 'break'; readonly pos: Pos }
  | { readonly k: 'return'; readonly e: Expr | undefined; readonly pos: Pos }
  | { readonly k: 'exit'; readonly pos: Pos }
  | { readonly k: 'drop'; readonly pos: Pos }
  | {
      readonly k: 'assign';
      readonly target: PvRef;
      readonly value: Expr;
      readonly pos: Pos;
    };

/** The kinds of route blocks. */
export type RouteType =
  | 'request'
  | 'route'
  | 'failure'
  | 'branch'
  | 'onreply'
  | 'reply'
  | 'event'
  | 'onsend';

export interface RouteBlock {
  readonly type: RouteType;
  /** `route[NAME]`, `failure_route[NAME]`, `event_route[tm:branch-failure:NAME]`; undefined for the main blocks. */
  readonly name: string | undefined;
  readonly body: readonly Stmt[];
  readonly pos: Pos;
  /** Where the name is written (the block's keyword when it has none). */
  readonly namePos: Pos;
}

/** `name=value` at the top level (a core global parameter). */
export interface GlobalParam {
  readonly name: string;
  /** The value after preprocessing: text of a quoted string, or the words as written. */
  readonly value: string;
  /** True when the value was a quoted string. */
  readonly quoted: boolean;
  readonly pos: Pos;
  readonly valuePos: Pos;
}

/** `loadmodule "tm.so"` */
export interface LoadModule {
  /** The module name (`tm`), from the path as written. */
  readonly name: string;
  readonly path: string;
  readonly pos: Pos;
}

/** `modparam("tm", "fr_timer", 30000)` */
export interface ModParam {
  /** One module name, or several (`"auth_db|usrloc"`). */
  readonly modules: readonly string[];
  readonly param: string;
  readonly value: string | number;
  readonly pos: Pos;
  readonly modulePos: Pos;
  readonly paramPos: Pos;
  readonly valuePos: Pos;
}

/** A parsed configuration file (with its includes). */
export interface Program {
  readonly globals: readonly GlobalParam[];
  readonly modules: readonly LoadModule[];
  readonly modparams: readonly ModParam[];
  readonly routes: readonly RouteBlock[];
  /** Names defined at the end of preprocessing (`#!define`, `#!substdef`, `-A`). */
  readonly defines: ReadonlyMap<string, string | undefined>;
  /** `#!subst` / `#!substdef` names (the text each rule matches), for "did you mean" hints. */
  readonly substNames: readonly string[];
  /** Every file read (the main file first, then includes). */
  readonly files: readonly string[];
  /** Things accepted with a remark (shown by `flowgate check` and in translations). */
  readonly notes: readonly CfgNote[];
}

/** A remark about the configuration: accepted, but worth knowing. */
export interface CfgNote {
  readonly pos: Pos;
  readonly message: string;
}
