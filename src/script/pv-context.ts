import { Hdr } from '../message/constants.js';
import type { SipMessage } from '../message/message.js';
import { SipUri } from '../message/parse/uri.js';
import { hdrValue, viaSelect } from '../modules/textops/index.js';
import { DROP, EXIT, ReplyContext, type RequestContext } from '../proxy/context.js';
import type { ProxyBranch } from '../proxy/stateful.js';
import type { ScriptEnv } from './env.js';

const LEVELS: Record<string, 'fatal' | 'error' | 'warn' | 'info' | 'debug'> = {
  L_ALERT: 'fatal',
  L_BUG: 'fatal',
  L_CRIT: 'fatal',
  L_ERR: 'error',
  L_WARN: 'warn',
  L_NOTICE: 'info',
  L_INFO: 'info',
  L_DBG: 'debug',
};

/**
 * The message side of the script context: flow control, pseudo-variables (`$ru`, `$si`, `$hdr`,
 * …), selects, message flags and xlog with its `$pv` formatting. {@link ScriptContext} adds the
 * module functions on top.
 */
export class PvContext {
  /** The core and the loaded modules. */
  protected readonly env: ScriptEnv;
  /** The request or reply being processed. */
  protected readonly c: RequestContext | ReplyContext;

  constructor(env: ScriptEnv, c: RequestContext | ReplyContext) {
    this.env = env;
    this.c = c;
  }

  /** The message being processed (request, or reply in onreply_route). */
  get msg(): SipMessage {
    return this.c instanceof ReplyContext ? this.c.res : this.c.req;
  }

  /** The underlying request context (advanced use). */
  get request(): RequestContext {
    if (this.c instanceof ReplyContext)
      throw new Error(`${this.c.route}: no request context in a reply route`);
    return this.c;
  }

  /** The request context, for a function that cannot run in a reply route. */
  protected req(fn: string): RequestContext {
    if (this.c instanceof ReplyContext)
      throw new Error(`${fn}() cannot be used in ${this.c.route}`);
    return this.c;
  }

  /** Sets `$rc`; 0 ends the script; true when positive. */
  protected rc(code: number): boolean {
    this.c.rc = code;
    if (code === 0) throw EXIT;
    return code > 0;
  }

  // ------------------------------------------------------------------ flow control

  /** `exit`: stop processing this message. */
  exit(): never {
    throw EXIT;
  }

  /** `drop`: stop; in onreply_route the reply is not forwarded. */
  drop(): never {
    throw DROP;
  }

  // ------------------------------------------------------------------ pseudo-variables

  /** `$rc`: the last function's return code. */
  get $rc(): number {
    return this.c.rc;
  }

  /** Sets `$rc` (the `.cfg` compiler does after `return N` in a route, as Kamailio's `route()` does). */
  set $rc(code: number) {
    this.c.rc = code;
  }

  /** `$ru`: the Request-URI (as rewritten so far). */
  get $ru(): string | undefined {
    return this.c instanceof ReplyContext ? undefined : this.c.ruri;
  }

  set $ru(v: string) {
    this.req('$ru').ruri = v;
  }

  /** `$rU`: user part of the Request-URI; undefined (`$null`) when there is none. */
  get $rU(): string | undefined {
    if (this.c instanceof ReplyContext) return undefined;
    const u = this.c.ruriParsed;
    return u instanceof SipUri ? u.user : undefined;
  }

  /** `$du`: destination URI (next hop override). */
  get $du(): string | undefined {
    return this.c instanceof ReplyContext ? undefined : this.c.du;
  }

  set $du(v: string | undefined) {
    const r = this.req('$du');
    r.du = v;
    r.flowId = undefined;
    r.deadFlow = false;
  }

  /** `$rm`: request method (CSeq method in replies). */
  get $rm(): string | undefined {
    return this.c instanceof ReplyContext ? this.c.res.cseq?.method : this.c.req.method;
  }

  /** `$rs`: reply status (replies; in failure routes the winning status). */
  get $rs(): number | undefined {
    if (this.c instanceof ReplyContext) return this.c.res.status;
    return this.branch()?.status;
  }

  /** `$si` / `$sp`: source address and port of the received message. */
  get $si(): string {
    return this.c.info.remote.address;
  }

  get $sp(): number {
    return this.c.info.remote.port;
  }

  /** `$pr`: transport of the received message. */
  get $pr(): string {
    return this.c.info.proto;
  }

  /** `$Ri` / `$Rp`: the local address and port the message was received on. */
  get $Ri(): string {
    return this.c.info.local.address;
  }

  get $Rp(): number {
    return this.c.info.local.port;
  }

  /** `$rd`: host of the Request-URI; undefined in replies. */
  get $rd(): string | undefined {
    if (this.c instanceof ReplyContext) return undefined;
    const u = this.c.ruriParsed;
    return u instanceof SipUri ? u.hostname : undefined;
  }

  /** `$ua`: the User-Agent header. */
  get $ua(): string | undefined {
    return this.msg.getHeader('User-Agent');
  }

  /** `$td` / `$fd`: To / From URI host. */
  get $td(): string | undefined {
    const u = this.msg.to?.uri;
    return u instanceof SipUri ? u.hostname : undefined;
  }

  get $fd(): string | undefined {
    const u = this.msg.from?.uri;
    return u instanceof SipUri ? u.hostname : undefined;
  }

  /** `$tU` / `$fU`: To / From URI user (as written). */
  get $tU(): string | undefined {
    const u = this.msg.to?.uri;
    return u instanceof SipUri ? u.user : undefined;
  }

  get $fU(): string | undefined {
    const u = this.msg.from?.uri;
    return u instanceof SipUri ? u.user : undefined;
  }

  /** `$route_uri`: the URI of the first Route value, undefined when there is none. */
  get $route_uri(): string | undefined {
    if (!this.msg.hasHeader(Hdr.Route)) return undefined;
    return this.msg.addressList(Hdr.Route)?.[0]?.uriText;
  }

  /** `$au`: the username of the request's credentials (verified or not); `$ar` their realm. */
  get $au(): string | undefined {
    if (this.c instanceof ReplyContext || this.env.auth === undefined) return undefined;
    return this.env.auth.presented(this.c).username;
  }

  get $ar(): string | undefined {
    if (this.c instanceof ReplyContext || this.env.auth === undefined) return undefined;
    return this.env.auth.presented(this.c).realm;
  }

  /** `$ad`: the domain of the authenticated user (set once an authorize function succeeded). */
  get $ad(): string | undefined {
    if (this.c instanceof ReplyContext) return undefined;
    return this.env.auth?.identity(this.c)?.domain;
  }

  /** `$tu`: To URI. */
  get $tu(): string | undefined {
    return this.msg.to?.uriText;
  }

  /** `$fu`: From URI. */
  get $fu(): string | undefined {
    return this.msg.from?.uriText;
  }

  /** `$ci`: Call-ID. */
  get $ci(): string | undefined {
    return this.msg.callId;
  }

  /** `$T_reply_ruid`: ruid of the failed branch (failure / branch-failure routes), else "". */
  get $T_reply_ruid(): string {
    if (this.c instanceof ReplyContext) {
      const b = this.c.tx?.branches[this.c.branchIndex];
      return b?.target.ruid ?? '';
    }
    return this.branch()?.target.ruid ?? '';
  }

  /** `$var(name)` script variables (per process, kept between messages as in Kamailio). */
  get $var(): Record<string, string | number | undefined> {
    return this.c.vars;
  }

  /** `$hdr(Name)` / `$(hdr(Name)[i])` / `$(hdr(Name)[*])`. */
  $hdr(name: string, index: number | '*' = 0): string | undefined {
    return hdrValue(this.msg, name, index);
  }

  /** `@via[n]`: the n-th Via value (1-based); undefined when absent. */
  via(n: number): string | undefined {
    return viaSelect(this.msg, n);
  }

  /** `value =~ "re"`: POSIX-style case-insensitive search; undefined matches as "". */
  match(value: string | number | undefined, re: string | RegExp): boolean {
    const r = typeof re === 'string' ? new RegExp(re, 'i') : re;
    return r.test(value === undefined ? '' : String(value));
  }

  /** `setflag(n)` / `resetflag(n)` / `isflagset(n)`. */
  setflag(n: number): boolean {
    this.req('setflag').flags |= 1 << n;
    return this.rc(1);
  }

  resetflag(n: number): boolean {
    this.req('resetflag').flags &= ~(1 << n);
    return this.rc(1);
  }

  isflagset(n: number): boolean {
    const r = this.req('isflagset');
    return this.rc(r.flags & (1 << n) ? 1 : -1);
  }

  // ------------------------------------------------------------------ xlog

  /** `xlog(["L_LEVEL",] "format")` with `$pv` substitution; the 1-argument form logs at L_ERR. */
  xlog(levelOrFormat: string, format?: string): boolean {
    const level = format === undefined ? 'L_ERR' : levelOrFormat;
    const text = this.format(format ?? levelOrFormat).replace(/\n$/, '');
    const fn = LEVELS[level] ?? 'info';
    this.env.logger[fn]({ xlog: true, route: this.c.route, callId: this.msg.callId }, text);
    return this.rc(1);
  }

  /** `$pv` references of a format substituted (xlog, header text, realms). */
  protected format(s: string): string {
    return s.replace(
      /\$\(hdr\(([^)]+)\)\[([*\d-]+)\]\)|\$hdr\(([^)]+)\)|\$var\(([^)]+)\)|\$T_reply_ruid|\$route_uri|\$[a-zA-Z]{2}/g,
      (m, h1, i1, h2, v) => {
        let val: unknown;
        if (h1 !== undefined) val = this.$hdr(h1, i1 === '*' ? '*' : Number(i1));
        else if (h2 !== undefined) val = this.$hdr(h2);
        else if (v !== undefined) val = this.$var[v];
        else if (m === '$T_reply_ruid') val = this.$T_reply_ruid;
        else if (m === '$route_uri') val = this.$route_uri;
        else {
          switch (m) {
            case '$si':
              val = this.$si;
              break;
            case '$sp':
              val = this.$sp;
              break;
            case '$rm':
              val = this.$rm;
              break;
            case '$ru':
              val = this.$ru;
              break;
            case '$rU':
              val = this.$rU;
              break;
            case '$du':
              val = this.$du;
              break;
            case '$tu':
              val = this.$tu;
              break;
            case '$fu':
              val = this.$fu;
              break;
            case '$rc':
              val = this.$rc;
              break;
            case '$rs':
              val = this.$rs;
              break;
            case '$ci':
              val = this.$ci;
              break;
            case '$pr':
              val = this.$pr;
              break;
            case '$td':
              val = this.$td;
              break;
            case '$fd':
              val = this.$fd;
              break;
            case '$tU':
              val = this.$tU;
              break;
            case '$fU':
              val = this.$fU;
              break;
            case '$au':
              val = this.$au;
              break;
            case '$ar':
              val = this.$ar;
              break;
            case '$ad':
              val = this.$ad;
              break;
            default:
              return m;
          }
        }
        return val === undefined ? '<null>' : String(val);
      },
    );
  }

  /** The branch a failure / branch-failure route reports (the picked or current one). */
  protected branch(): ProxyBranch | undefined {
    if (this.c instanceof ReplyContext) return this.c.tx?.branches[this.c.branchIndex];
    const r = this.c;
    if (r.tx === undefined || r.branchIndex < 0) return undefined;
    if (r.kind === 'failure') return r.tx.pickedBranch() ?? r.tx.branches[r.branchIndex];
    return r.tx.branches[r.branchIndex];
  }
}
