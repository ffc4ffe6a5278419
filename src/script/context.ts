import { Hdr } from '../message/constants.js';
import type { SipMessage } from '../message/message.js';
import { percentDecode } from '../message/parse/chars.js';
import { parseNameAddr } from '../message/parse/name-addr.js';
import { SipUri } from '../message/parse/uri.js';
import type { Auth } from '../modules/auth/index.js';
import { mfProcessMaxfwdHeader } from '../modules/maxfwd/index.js';
import type { Nathelper } from '../modules/nathelper/index.js';
import type { Outbound } from '../modules/outbound/index.js';
import type { PathModule } from '../modules/path/index.js';
import { PermissionGroup, type Permissions } from '../modules/permissions/index.js';
import { type Pike, PikeRc } from '../modules/pike/index.js';
import type { RegistrarApi } from '../modules/registrar/api.js';
import type { RecordRoute } from '../modules/rr/index.js';
import { sanityCheck, sanityFailureHeaders } from '../modules/sanity/index.js';
import {
  appendHf,
  hasTotag,
  hdrValue,
  insertHf,
  isMethod,
  removeHf,
  viaSelect,
} from '../modules/textops/index.js';
import { loadContacts, nextContactFlow, nextContacts } from '../proxy/contacts.js';
import { DROP, EXIT, ReplyContext, type RequestContext } from '../proxy/context.js';
import type { ProxyCore } from '../proxy/core.js';
import type { ProxyBranch } from '../proxy/stateful.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/logger.js';

/** Everything the script context reaches: the core and the loaded modules (absent = not loaded). */
export interface ScriptEnv {
  readonly core: ProxyCore;
  readonly logger: Logger;
  readonly rr?: RecordRoute | undefined;
  readonly path?: PathModule | undefined;
  readonly outbound?: Outbound | undefined;
  readonly registrar?: RegistrarApi | undefined;
  readonly auth?: Auth | undefined;
  readonly pike?: Pike | undefined;
  readonly permissions?: Permissions | undefined;
  readonly nathelper?: Nathelper | undefined;
  /** sanity `autodrop` (default true): a failed check ends the script (Kamailio returns 0). */
  readonly sanityAutodrop?: boolean | undefined;
  /** Option tags this proxy supports (for the Proxy-Require check). */
  readonly supported?: readonly string[] | undefined;
  /** Runs a named route of the script. */
  readonly runRoute: (name: string, ctx: ScriptContext) => void | Promise<void>;
}

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

const dropLog = new RateLimitedLog(10_000);

/**
 * The `ctx` a routing script receives: Kamailio's functions under their own names (a 1:1 table is
 * in docs/kamailio-mapping.md) and its pseudo-variables as `$…` properties.
 *
 * Return convention (Kamailio): every function sets `$rc` to its code and returns `true` when the
 * code is positive, so `if (!ctx.loose_route()) { switch (ctx.$rc) { … } }` reads like the
 * configuration it comes from. A code of 0 ends the script at once, as in Kamailio; so do
 * `ctx.exit()` and `ctx.drop()`. Functions that need I/O (`save`, `lookup`, `unregister`) return
 * promises: `await` them.
 */
export class ScriptContext {
  readonly #env: ScriptEnv;
  readonly #c: RequestContext | ReplyContext;

  constructor(env: ScriptEnv, c: RequestContext | ReplyContext) {
    this.#env = env;
    this.#c = c;
  }

  /** The message being processed (request, or reply in onreply_route). */
  get msg(): SipMessage {
    return this.#c instanceof ReplyContext ? this.#c.res : this.#c.req;
  }

  /** The underlying request context (advanced use). */
  get request(): RequestContext {
    if (this.#c instanceof ReplyContext)
      throw new Error(`${this.#c.route}: no request context in a reply route`);
    return this.#c;
  }

  #req(fn: string): RequestContext {
    if (this.#c instanceof ReplyContext)
      throw new Error(`${fn}() cannot be used in ${this.#c.route}`);
    return this.#c;
  }

  #rc(code: number): boolean {
    this.#c.rc = code;
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

  /** `route(NAME)`: run a named route. An async route returns its promise: `await ctx.route('X')`. */
  route(name: string): void | Promise<void> {
    const prev = this.#c.route;
    this.#c.route = `route[${name}]`;
    // on an error the innermost route's name stays, so the error report names it
    const r = this.#env.runRoute(name, this);
    if (r instanceof Promise) {
      return r.then(() => {
        this.#c.route = prev;
      });
    }
    this.#c.route = prev;
    return r;
  }

  // ------------------------------------------------------------------ pseudo-variables

  /** `$rc`: the last function's return code. */
  get $rc(): number {
    return this.#c.rc;
  }

  /** Sets `$rc` (the `.cfg` compiler does after `return N` in a route, as Kamailio's `route()` does). */
  set $rc(code: number) {
    this.#c.rc = code;
  }

  /** `$ru`: the Request-URI (as rewritten so far). */
  get $ru(): string | undefined {
    return this.#c instanceof ReplyContext ? undefined : this.#c.ruri;
  }

  set $ru(v: string) {
    this.#req('$ru').ruri = v;
  }

  /** `$rU`: user part of the Request-URI; undefined (`$null`) when there is none. */
  get $rU(): string | undefined {
    if (this.#c instanceof ReplyContext) return undefined;
    const u = this.#c.ruriParsed;
    return u instanceof SipUri ? u.user : undefined;
  }

  /** `$du`: destination URI (next hop override). */
  get $du(): string | undefined {
    return this.#c instanceof ReplyContext ? undefined : this.#c.du;
  }

  set $du(v: string | undefined) {
    const r = this.#req('$du');
    r.du = v;
    r.flowId = undefined;
    r.deadFlow = false;
  }

  /** `$rm`: request method (CSeq method in replies). */
  get $rm(): string | undefined {
    return this.#c instanceof ReplyContext ? this.#c.res.cseq?.method : this.#c.req.method;
  }

  /** `$rs`: reply status (replies; in failure routes the winning status). */
  get $rs(): number | undefined {
    if (this.#c instanceof ReplyContext) return this.#c.res.status;
    return this.#branch()?.status;
  }

  /** `$si` / `$sp`: source address and port of the received message. */
  get $si(): string {
    return this.#c.info.remote.address;
  }

  get $sp(): number {
    return this.#c.info.remote.port;
  }

  /** `$pr`: transport of the received message. */
  get $pr(): string {
    return this.#c.info.proto;
  }

  /** `$Ri` / `$Rp`: the local address and port the message was received on. */
  get $Ri(): string {
    return this.#c.info.local.address;
  }

  get $Rp(): number {
    return this.#c.info.local.port;
  }

  /** `$rd`: host of the Request-URI; undefined in replies. */
  get $rd(): string | undefined {
    if (this.#c instanceof ReplyContext) return undefined;
    const u = this.#c.ruriParsed;
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
    if (this.#c instanceof ReplyContext || this.#env.auth === undefined) return undefined;
    return this.#env.auth.presented(this.#c).username;
  }

  get $ar(): string | undefined {
    if (this.#c instanceof ReplyContext || this.#env.auth === undefined) return undefined;
    return this.#env.auth.presented(this.#c).realm;
  }

  /** `$ad`: the domain of the authenticated user (set once an authorize function succeeded). */
  get $ad(): string | undefined {
    if (this.#c instanceof ReplyContext) return undefined;
    return this.#env.auth?.identity(this.#c)?.domain;
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
    if (this.#c instanceof ReplyContext) {
      const b = this.#c.tx?.branches[this.#c.branchIndex];
      return b?.target.ruid ?? '';
    }
    return this.#branch()?.target.ruid ?? '';
  }

  /** `$var(name)` script variables (per process, kept between messages as in Kamailio). */
  get $var(): Record<string, string | number | undefined> {
    return this.#c.vars;
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
    this.#req('setflag').flags |= 1 << n;
    return this.#rc(1);
  }

  resetflag(n: number): boolean {
    this.#req('resetflag').flags &= ~(1 << n);
    return this.#rc(1);
  }

  isflagset(n: number): boolean {
    const r = this.#req('isflagset');
    return this.#rc(r.flags & (1 << n) ? 1 : -1);
  }

  // ------------------------------------------------------------------ xlog

  /** `xlog(["L_LEVEL",] "format")` with `$pv` substitution; the 1-argument form logs at L_ERR. */
  xlog(levelOrFormat: string, format?: string): boolean {
    const level = format === undefined ? 'L_ERR' : levelOrFormat;
    const text = this.#format(format ?? levelOrFormat).replace(/\n$/, '');
    const fn = LEVELS[level] ?? 'info';
    this.#env.logger[fn]({ xlog: true, route: this.#c.route, callId: this.msg.callId }, text);
    return this.#rc(1);
  }

  #format(s: string): string {
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

  // ------------------------------------------------------------------ textops / siputils

  is_method(methods: string): boolean {
    return this.#rc(isMethod(this.msg, methods));
  }

  has_totag(): boolean {
    return this.#rc(hasTotag(this.msg));
  }

  remove_hf(name: string): boolean {
    return this.#rc(removeHf(this.msg, this.#c.edits, name));
  }

  insert_hf(text: string, before?: string): boolean {
    return this.#rc(insertHf(this.msg, this.#c.edits, this.#format(text), before));
  }

  append_hf(text: string): boolean {
    return this.#rc(appendHf(this.msg, this.#c.edits, this.#format(text)));
  }

  // ------------------------------------------------------------------ maxfwd / sanity

  mf_process_maxfwd_header(limit: number | string, maxLimit = 70): boolean {
    return this.#rc(
      mfProcessMaxfwdHeader(this.#req('mf_process_maxfwd_header'), Number(limit), maxLimit),
    );
  }

  /**
   * `sanity_check([msg_checks[, uri_checks]])`: on a failed check the request gets the check's
   * reply (never an ACK), the failure is logged with the check's name (decision Q-T4), and the
   * script ends (Kamailio autodrop returns 0).
   */
  sanity_check(msgChecks: number | string = 1511, uriChecks: number | string = 7): boolean {
    const r = this.#req('sanity_check');
    const f = sanityCheck(r.req, Number(msgChecks), Number(uriChecks), this.#env.supported ?? []);
    if (f === undefined) return this.#rc(1);
    dropLog.log(
      this.#env.logger,
      'warn',
      `sanity:${f.check}:${r.info.remote.address}`,
      {
        check: f.check,
        status: f.status,
        src: `${r.info.remote.address}:${r.info.remote.port}`,
        callId: r.req.callId,
      },
      `sanity check failed: ${f.reason}`,
    );
    if (r.req.method !== 'ACK')
      this.#env.core.replyStateless(r, f.status, f.reason, sanityFailureHeaders(f));
    return this.#rc(this.#env.sanityAutodrop === false ? -1 : 0);
  }

  // ------------------------------------------------------------------ sl / tm

  sl_send_reply(code: number | string, reason?: string): boolean {
    return this.#rc(
      this.#env.core.replyStateless(this.#req('sl_send_reply'), Number(code), reason),
    );
  }

  send_reply(code: number | string, reason?: string): boolean {
    return this.#rc(this.#env.core.sendReply(this.#req('send_reply'), Number(code), reason));
  }

  t_reply(code: number | string, reason?: string): boolean {
    return this.#rc(this.#env.core.tReply(this.#req('t_reply'), Number(code), reason));
  }

  sl_reply_error(): boolean {
    return this.#rc(this.#env.core.replyError(this.#req('sl_reply_error')));
  }

  t_relay(): boolean {
    return this.#rc(this.#env.core.relay(this.#req('t_relay')));
  }

  t_newtran(): boolean {
    return this.#rc(this.#env.core.newTran(this.#req('t_newtran')));
  }

  t_check_trans(): boolean {
    return this.#rc(this.#env.core.checkTrans(this.#c));
  }

  t_on_failure(name: string): boolean {
    const r = this.#req('t_on_failure');
    r.failureRoute = name;
    if (r.tx !== undefined && r.kind !== 'request') r.tx.failureRoute = name;
    return this.#rc(1);
  }

  t_on_branch_failure(name: string): boolean {
    this.#req('t_on_branch_failure').branchFailureRoute = name;
    return this.#rc(1);
  }

  /** The branch a failure / branch-failure route reports (the picked or current one). */
  #branch(): ProxyBranch | undefined {
    if (this.#c instanceof ReplyContext) return this.#c.tx?.branches[this.#c.branchIndex];
    const r = this.#c;
    if (r.tx === undefined || r.branchIndex < 0) return undefined;
    if (r.kind === 'failure') return r.tx.pickedBranch() ?? r.tx.branches[r.branchIndex];
    return r.tx.branches[r.branchIndex];
  }

  t_branch_timeout(): boolean {
    return this.#rc(this.#branch()?.timedOut ? 1 : -1);
  }

  t_branch_replied(): boolean {
    return this.#rc(this.#branch()?.replied ? 1 : -1);
  }

  /** `t_check_status("re")`: the relevant status (reply, winning, branch or last sent) matches the regular expression. */
  t_check_status(re: string): boolean {
    let status: number | undefined;
    if (this.#c instanceof ReplyContext) status = this.#c.res.status;
    else if (this.#c.kind === 'request') status = this.#c.tx?.server.lastStatus;
    else status = this.#branch()?.status;
    if (status === undefined || status === 0) return this.#rc(-1);
    return this.#rc(new RegExp(re, 'i').test(String(status)) ? 1 : -1);
  }

  t_load_contacts(): boolean {
    return this.#rc(loadContacts(this.#req('t_load_contacts')));
  }

  t_next_contacts(): boolean {
    return this.#rc(nextContacts(this.#req('t_next_contacts')));
  }

  t_next_contact_flow(): boolean {
    return this.#rc(nextContactFlow(this.#req('t_next_contact_flow')));
  }

  /** `append_branch([uri])`: adds a destination (the current R-URI when no argument). */
  append_branch(uri?: string): boolean {
    const r = this.#req('append_branch');
    const max = this.#env.core.limits.maxBranches;
    if (r.branches.length + 1 >= max) {
      // the R-URI is one branch too: Kamailio's MAX_BRANCHES counts the whole destination set
      this.#env.core.limitHit(
        'branches',
        'branches',
        { max },
        `append_branch(): the destination set is full (${max} branches)`,
      );
      return this.#rc(-1);
    }
    r.branches.push(uri === undefined ? r.ruriTarget() : { uri });
    return this.#rc(1);
  }

  // ------------------------------------------------------------------ rr / path / outbound

  record_route(params?: string): boolean {
    const rr = this.#env.rr;
    if (rr === undefined) throw new Error('record_route(): the rr module is not loaded');
    return this.#rc(rr.recordRoute(this.#req('record_route'), params));
  }

  loose_route(): boolean {
    const rr = this.#env.rr;
    if (rr === undefined) throw new Error('loose_route(): the rr module is not loaded');
    return this.#rc(rr.looseRoute(this.#req('loose_route')));
  }

  add_path(user?: string, params?: string): boolean {
    const p = this.#env.path;
    if (p === undefined) throw new Error('add_path(): the path module is not loaded');
    return this.#rc(p.addPath(this.#req('add_path'), user, params));
  }

  add_path_received(user?: string, params?: string): boolean {
    const p = this.#env.path;
    if (p === undefined) throw new Error('add_path_received(): the path module is not loaded');
    return this.#rc(p.addPathReceived(this.#req('add_path_received'), user, params));
  }

  check_flow_token(): boolean {
    const ob = this.#env.outbound;
    if (ob === undefined) throw new Error('check_flow_token(): the outbound module is not loaded');
    return this.#rc(ob.checkFlowToken(this.#req('check_flow_token')));
  }

  // ------------------------------------------------------------------ auth / permissions / pike

  #auth(fn: string): Auth {
    const a = this.#env.auth;
    if (a === undefined) throw new Error(`${fn}(): the auth module is not loaded`);
    return a;
  }

  /** `www_challenge(realm, flags)`: 401 with one WWW-Authenticate per algorithm; `realm` may hold `$td` etc. */
  www_challenge(realm: string, flags: number | string = 0): boolean {
    return this.#rc(
      this.#auth('www_challenge').challenge(
        this.#req('www_challenge'),
        'www',
        this.#format(realm),
        Number(flags),
      ),
    );
  }

  /** `proxy_challenge(realm, flags)`: 407 with Proxy-Authenticate. */
  proxy_challenge(realm: string, flags: number | string = 0): boolean {
    return this.#rc(
      this.#auth('proxy_challenge').challenge(
        this.#req('proxy_challenge'),
        'proxy',
        this.#format(realm),
        Number(flags),
      ),
    );
  }

  /** `auth_challenge(realm, flags)`: 401 for REGISTER, 407 otherwise. */
  auth_challenge(realm: string, flags: number | string = 0): boolean {
    const r = this.#req('auth_challenge');
    return this.#rc(
      this.#auth('auth_challenge').challenge(
        r,
        r.req.method === 'REGISTER' ? 'www' : 'proxy',
        this.#format(realm),
        Number(flags),
      ),
    );
  }

  /** `www_authorize(realm, table)` (alias `www_authenticate`): verifies Authorization; see `AuthRc`. */
  async www_authorize(realm: string, _table = 'subscriber'): Promise<boolean> {
    const r = this.#req('www_authorize');
    return this.#rc(await this.#auth('www_authorize').authorize(r, 'www', this.#format(realm)));
  }

  async www_authenticate(realm: string, table = 'subscriber'): Promise<boolean> {
    return this.www_authorize(realm, table);
  }

  /** `proxy_authorize(realm, table)` (alias `proxy_authenticate`): verifies Proxy-Authorization. */
  async proxy_authorize(realm: string, _table = 'subscriber'): Promise<boolean> {
    const r = this.#req('proxy_authorize');
    return this.#rc(await this.#auth('proxy_authorize').authorize(r, 'proxy', this.#format(realm)));
  }

  async proxy_authenticate(realm: string, table = 'subscriber'): Promise<boolean> {
    return this.proxy_authorize(realm, table);
  }

  /** `auth_check(realm, table, flags)`: www for REGISTER, proxy otherwise; flag 1: the user must be To/From. */
  async auth_check(
    realm: string,
    _table = 'subscriber',
    flags: number | string = 0,
  ): Promise<boolean> {
    const r = this.#req('auth_check');
    return this.#rc(
      await this.#auth('auth_check').authCheck(r, this.#format(realm), Number(flags)),
    );
  }

  /** `consume_credentials()`: the verified credentials are not forwarded. */
  consume_credentials(): boolean {
    return this.#rc(
      this.#auth('consume_credentials').consumeCredentials(this.#req('consume_credentials')),
    );
  }

  /** `has_credentials(realm)`. */
  has_credentials(realm: string): boolean {
    return this.#rc(
      this.#auth('has_credentials').hasCredentials(
        this.#req('has_credentials'),
        this.#format(realm),
      ),
    );
  }

  /** `allow_source_address([group])` (permissions): the source address is in the group (default 1: trusted peers). */
  allow_source_address(group: number | string = PermissionGroup.Trusted): boolean {
    const p = this.#env.permissions;
    const info = this.#c.info;
    return this.#rc(
      p?.allowSourceAddress(Number(group), info.remote.address, info.remote.port) === true ? 1 : -1,
    );
  }

  /** `pike_check_req()`: 1 the source is within its rate; -1 banned; -2 banned by this request. */
  pike_check_req(): boolean {
    const p = this.#env.pike;
    if (p === undefined) throw new Error('pike_check_req(): the pike module is not loaded');
    const info = this.#c.info;
    // the core already counted this request when pike is loaded: only report the state
    return this.#rc(p.isBanned(info.remote.address) ? PikeRc.Blocked : PikeRc.Ok);
  }

  /** `is_myself(uri)`: the URI names this element (host and port; never a GRUU). */
  is_myself(uri: string | undefined): boolean {
    if (uri === undefined) return this.#rc(-1);
    const na = parseNameAddr(this.#format(uri), 'uri');
    const u = na.ok ? na.value.uri : undefined;
    return this.#rc(u instanceof SipUri && this.#env.core.isMyself(u) ? 1 : -1);
  }

  /** `is_domain_local(domain)`: the domain (any port) is one this element serves (aliases, addresses). */
  is_domain_local(domain: string | undefined): boolean {
    if (domain === undefined) return this.#rc(-1);
    return this.#rc(this.#env.core.isDomainLocal(this.#format(domain)) ? 1 : -1);
  }

  /**
   * flowgate: 1 when every Route value names this element (a UA's preloaded outbound-proxy route),
   * -1 when any names another host (a client asking to be relayed elsewhere), -2 without Route.
   */
  routes_are_myself(): boolean {
    const m = this.msg;
    if (!m.hasHeader(Hdr.Route)) return this.#rc(-2);
    const list = m.addressList(Hdr.Route);
    if (list === undefined || list.length === 0) return this.#rc(-1);
    for (const r of list)
      if (!(r.uri instanceof SipUri) || !this.#env.core.isMyself(r.uri)) return this.#rc(-1);
    return this.#rc(1);
  }

  // ------------------------------------------------------------------ nathelper

  #nat(fn: string): Nathelper {
    const n = this.#env.nathelper;
    if (n === undefined) throw new Error(`${fn}(): the nathelper module is not loaded`);
    return n;
  }

  /** `nat_uac_test(flags)`: 1 when a test of `flags` (see `NatTest`) says the UA is behind NAT. */
  nat_uac_test(flags: number | string): boolean {
    return this.#rc(this.#nat('nat_uac_test').natUacTest(this.#req('nat_uac_test'), Number(flags)));
  }

  /** `fix_nated_contact()`: the first Contact gets the source address. */
  fix_nated_contact(): boolean {
    return this.#rc(this.#nat('fix_nated_contact').fixNatedContact(this.#req('fix_nated_contact')));
  }

  /** `fix_nated_register()`: the first Contact gets `;received="<source>"` for the registrar. */
  fix_nated_register(): boolean {
    return this.#rc(
      this.#nat('fix_nated_register').fixNatedRegister(this.#req('fix_nated_register')),
    );
  }

  /** `add_contact_alias()`: `;alias=ip~port~proto` of the source on the first Contact URI. */
  add_contact_alias(): boolean {
    return this.#rc(this.#nat('add_contact_alias').addContactAlias(this.#req('add_contact_alias')));
  }

  /** `handle_ruri_alias()`: route by the Request-URI's `;alias` (1), none (-1), malformed (-2). */
  handle_ruri_alias(): boolean {
    return this.#rc(this.#nat('handle_ruri_alias').handleRuriAlias(this.#req('handle_ruri_alias')));
  }

  /** `nat_keepalive()`: ping the registering UDP UA's NAT binding while its registration lasts. */
  nat_keepalive(): boolean {
    return this.#rc(this.#nat('nat_keepalive').natKeepalive(this.#req('nat_keepalive')));
  }

  // ------------------------------------------------------------------ registrar

  #registrar(fn: string): RegistrarApi {
    const r = this.#env.registrar;
    if (r === undefined) throw new Error(`${fn}(): the registrar module is not loaded`);
    return r;
  }

  async save(table: string, flags?: number): Promise<boolean> {
    return this.#rc(await this.#registrar('save').save(this.#req('save'), table, flags));
  }

  async lookup(table: string, uri?: string): Promise<boolean> {
    return this.#rc(
      await this.#registrar('lookup').lookup(
        this.#req('lookup'),
        table,
        uri === undefined ? undefined : this.#format(uri),
      ),
    );
  }

  async unregister(table: string, uri: string, ruid?: string): Promise<boolean> {
    return this.#rc(
      await this.#registrar('unregister').unregister(
        this.#req('unregister'),
        table,
        this.#format(uri),
        ruid === undefined ? undefined : this.#format(ruid),
      ),
    );
  }

  // ------------------------------------------------------------------ helpers for scripts

  /** The user part of a URI (%-unescaped), e.g. of `$tu`. */
  uriUser(uri: string | undefined): string | undefined {
    if (uri === undefined) return undefined;
    const na = parseNameAddr(uri, 'uri');
    const u = na.ok ? na.value.uri : undefined;
    return u instanceof SipUri && u.user !== undefined ? percentDecode(u.user) : undefined;
  }

  /** Number of Via values of the message (`@via[2] == ""` is `viaCount() < 2`). */
  viaCount(): number {
    return this.msg.getValues(Hdr.Via).length;
  }
}
