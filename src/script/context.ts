import { Hdr } from '../message/constants.js';
import { percentDecode } from '../message/parse/chars.js';
import { parseNameAddr } from '../message/parse/name-addr.js';
import { SipUri } from '../message/parse/uri.js';
import type { Auth } from '../modules/auth/index.js';
import type { ModuleInstance } from '../modules/contract.js';
import { mfProcessMaxfwdHeader } from '../modules/maxfwd/index.js';
import type { Nathelper } from '../modules/nathelper/index.js';
import { PermissionGroup } from '../modules/permissions/index.js';
import { PikeRc } from '../modules/pike/index.js';
import type { RegistrarApi } from '../modules/registrar/api.js';
import { notLoadedMessage } from '../modules/registry.js';
import { sanityCheck, sanityFailureHeaders } from '../modules/sanity/index.js';
import { appendHf, hasTotag, insertHf, isMethod, removeHf } from '../modules/textops/index.js';
import { loadContacts, nextContactFlow, nextContacts } from '../proxy/contacts.js';
import { ReplyContext } from '../proxy/context.js';
import { RateLimitedLog } from '../util/logger.js';
import type { ScriptEnv } from './env.js';
import { PvContext } from './pv-context.js';

export type { ScriptEnv } from './env.js';

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
export class ScriptContext extends PvContext {
  /**
   * A module's instance, or the registry's "not loaded" error naming the module that provides
   * `fn` (the same check as any absent module: one comparison, no lookup per message).
   */
  #mod<K extends ModuleInstance>(key: K, fn: string): NonNullable<ScriptEnv[K]> {
    const m = this.env[key];
    if (m === undefined) throw new Error(notLoadedMessage(fn, key));
    return m as NonNullable<ScriptEnv[K]>;
  }

  /** `route(NAME)`: run a named route. An async route returns its promise: `await ctx.route('X')`. */
  route(name: string): void | Promise<void> {
    const prev = this.c.route;
    this.c.route = `route[${name}]`;
    // on an error the innermost route's name stays, so the error report names it
    const r = this.env.runRoute(name, this);
    if (r instanceof Promise) {
      return r.then(() => {
        this.c.route = prev;
      });
    }
    this.c.route = prev;
    return r;
  }

  // ------------------------------------------------------------------ textops / siputils

  is_method(methods: string): boolean {
    return this.rc(isMethod(this.msg, methods));
  }

  has_totag(): boolean {
    return this.rc(hasTotag(this.msg));
  }

  remove_hf(name: string): boolean {
    return this.rc(removeHf(this.msg, this.c.edits, name));
  }

  insert_hf(text: string, before?: string): boolean {
    return this.rc(insertHf(this.msg, this.c.edits, this.format(text), before));
  }

  append_hf(text: string): boolean {
    return this.rc(appendHf(this.msg, this.c.edits, this.format(text)));
  }

  // ------------------------------------------------------------------ maxfwd / sanity

  mf_process_maxfwd_header(limit: number | string, maxLimit = 70): boolean {
    return this.rc(
      mfProcessMaxfwdHeader(this.req('mf_process_maxfwd_header'), Number(limit), maxLimit),
    );
  }

  /**
   * `sanity_check([msg_checks[, uri_checks]])`: on a failed check the request gets the check's
   * reply (never an ACK), the failure is logged with the check's name (decision Q-T4), and the
   * script ends (Kamailio autodrop returns 0).
   */
  sanity_check(msgChecks: number | string = 1511, uriChecks: number | string = 7): boolean {
    const r = this.req('sanity_check');
    const f = sanityCheck(r.req, Number(msgChecks), Number(uriChecks), this.env.supported ?? []);
    if (f === undefined) return this.rc(1);
    dropLog.log(
      this.env.logger,
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
      this.env.core.replyStateless(r, f.status, f.reason, sanityFailureHeaders(f));
    return this.rc(this.env.sanityAutodrop === false ? -1 : 0);
  }

  // ------------------------------------------------------------------ sl / tm

  sl_send_reply(code: number | string, reason?: string): boolean {
    return this.rc(this.env.core.replyStateless(this.req('sl_send_reply'), Number(code), reason));
  }

  send_reply(code: number | string, reason?: string): boolean {
    return this.rc(this.env.core.sendReply(this.req('send_reply'), Number(code), reason));
  }

  t_reply(code: number | string, reason?: string): boolean {
    return this.rc(this.env.core.tReply(this.req('t_reply'), Number(code), reason));
  }

  sl_reply_error(): boolean {
    return this.rc(this.env.core.replyError(this.req('sl_reply_error')));
  }

  t_relay(): boolean {
    return this.rc(this.env.core.relay(this.req('t_relay')));
  }

  t_newtran(): boolean {
    return this.rc(this.env.core.newTran(this.req('t_newtran')));
  }

  t_check_trans(): boolean {
    return this.rc(this.env.core.checkTrans(this.c));
  }

  t_on_failure(name: string): boolean {
    const r = this.req('t_on_failure');
    r.failureRoute = name;
    if (r.tx !== undefined && r.kind !== 'request') r.tx.failureRoute = name;
    return this.rc(1);
  }

  t_on_branch_failure(name: string): boolean {
    this.req('t_on_branch_failure').branchFailureRoute = name;
    return this.rc(1);
  }

  t_branch_timeout(): boolean {
    return this.rc(this.branch()?.timedOut ? 1 : -1);
  }

  t_branch_replied(): boolean {
    return this.rc(this.branch()?.replied ? 1 : -1);
  }

  /** `t_check_status("re")`: the relevant status (reply, winning, branch or last sent) matches the regular expression. */
  t_check_status(re: string): boolean {
    let status: number | undefined;
    if (this.c instanceof ReplyContext) status = this.c.res.status;
    else if (this.c.kind === 'request') status = this.c.tx?.server.lastStatus;
    else status = this.branch()?.status;
    if (status === undefined || status === 0) return this.rc(-1);
    return this.rc(new RegExp(re, 'i').test(String(status)) ? 1 : -1);
  }

  t_load_contacts(): boolean {
    return this.rc(loadContacts(this.req('t_load_contacts')));
  }

  t_next_contacts(): boolean {
    return this.rc(nextContacts(this.req('t_next_contacts')));
  }

  t_next_contact_flow(): boolean {
    return this.rc(nextContactFlow(this.req('t_next_contact_flow')));
  }

  /** `append_branch([uri])`: adds a destination (the current R-URI when no argument). */
  append_branch(uri?: string): boolean {
    const r = this.req('append_branch');
    const max = this.env.core.limits.maxBranches;
    if (r.branches.length + 1 >= max) {
      // the R-URI is one branch too: Kamailio's MAX_BRANCHES counts the whole destination set
      this.env.core.limitHit(
        'branches',
        'branches',
        { max },
        `append_branch(): the destination set is full (${max} branches)`,
      );
      return this.rc(-1);
    }
    r.branches.push(uri === undefined ? r.ruriTarget() : { uri });
    return this.rc(1);
  }

  // ------------------------------------------------------------------ rr / path / outbound

  record_route(params?: string): boolean {
    const rr = this.#mod('rr', 'record_route');
    return this.rc(rr.recordRoute(this.req('record_route'), params));
  }

  loose_route(): boolean {
    const rr = this.#mod('rr', 'loose_route');
    return this.rc(rr.looseRoute(this.req('loose_route')));
  }

  add_path(user?: string, params?: string): boolean {
    const p = this.#mod('path', 'add_path');
    return this.rc(p.addPath(this.req('add_path'), user, params));
  }

  add_path_received(user?: string, params?: string): boolean {
    const p = this.#mod('path', 'add_path_received');
    return this.rc(p.addPathReceived(this.req('add_path_received'), user, params));
  }

  check_flow_token(): boolean {
    const ob = this.#mod('outbound', 'check_flow_token');
    return this.rc(ob.checkFlowToken(this.req('check_flow_token')));
  }

  // ------------------------------------------------------------------ auth / permissions / pike

  #auth(fn: string): Auth {
    return this.#mod('auth', fn);
  }

  /** `www_challenge(realm, flags)`: 401 with one WWW-Authenticate per algorithm; `realm` may hold `$td` etc. */
  www_challenge(realm: string, flags: number | string = 0): boolean {
    return this.rc(
      this.#auth('www_challenge').challenge(
        this.req('www_challenge'),
        'www',
        this.format(realm),
        Number(flags),
      ),
    );
  }

  /** `proxy_challenge(realm, flags)`: 407 with Proxy-Authenticate. */
  proxy_challenge(realm: string, flags: number | string = 0): boolean {
    return this.rc(
      this.#auth('proxy_challenge').challenge(
        this.req('proxy_challenge'),
        'proxy',
        this.format(realm),
        Number(flags),
      ),
    );
  }

  /** `auth_challenge(realm, flags)`: 401 for REGISTER, 407 otherwise. */
  auth_challenge(realm: string, flags: number | string = 0): boolean {
    const r = this.req('auth_challenge');
    return this.rc(
      this.#auth('auth_challenge').challenge(
        r,
        r.req.method === 'REGISTER' ? 'www' : 'proxy',
        this.format(realm),
        Number(flags),
      ),
    );
  }

  /** `www_authorize(realm, table)` (alias `www_authenticate`): verifies Authorization; see `AuthRc`. */
  async www_authorize(realm: string, _table = 'subscriber'): Promise<boolean> {
    const r = this.req('www_authorize');
    return this.rc(await this.#auth('www_authorize').authorize(r, 'www', this.format(realm)));
  }

  async www_authenticate(realm: string, table = 'subscriber'): Promise<boolean> {
    return this.www_authorize(realm, table);
  }

  /** `proxy_authorize(realm, table)` (alias `proxy_authenticate`): verifies Proxy-Authorization. */
  async proxy_authorize(realm: string, _table = 'subscriber'): Promise<boolean> {
    const r = this.req('proxy_authorize');
    return this.rc(await this.#auth('proxy_authorize').authorize(r, 'proxy', this.format(realm)));
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
    const r = this.req('auth_check');
    return this.rc(await this.#auth('auth_check').authCheck(r, this.format(realm), Number(flags)));
  }

  /** `consume_credentials()`: the verified credentials are not forwarded. */
  consume_credentials(): boolean {
    return this.rc(
      this.#auth('consume_credentials').consumeCredentials(this.req('consume_credentials')),
    );
  }

  /** `has_credentials(realm)`. */
  has_credentials(realm: string): boolean {
    return this.rc(
      this.#auth('has_credentials').hasCredentials(this.req('has_credentials'), this.format(realm)),
    );
  }

  /** `allow_source_address([group])` (permissions): the source address is in the group (default 1: trusted peers). */
  allow_source_address(group: number | string = PermissionGroup.Trusted): boolean {
    const p = this.env.permissions;
    const info = this.c.info;
    return this.rc(
      p?.allowSourceAddress(Number(group), info.remote.address, info.remote.port) === true ? 1 : -1,
    );
  }

  /** `pike_check_req()`: 1 the source is within its rate; -1 banned; -2 banned by this request. */
  pike_check_req(): boolean {
    const p = this.#mod('pike', 'pike_check_req');
    const info = this.c.info;
    // the core already counted this request when pike is loaded: only report the state
    return this.rc(p.isBanned(info.remote.address) ? PikeRc.Blocked : PikeRc.Ok);
  }

  /** `is_myself(uri)`: the URI names this element (host and port; never a GRUU). */
  is_myself(uri: string | undefined): boolean {
    if (uri === undefined) return this.rc(-1);
    const na = parseNameAddr(this.format(uri), 'uri');
    const u = na.ok ? na.value.uri : undefined;
    return this.rc(u instanceof SipUri && this.env.core.isMyself(u) ? 1 : -1);
  }

  /** `is_domain_local(domain)`: the domain (any port) is one this element serves (aliases, addresses). */
  is_domain_local(domain: string | undefined): boolean {
    if (domain === undefined) return this.rc(-1);
    return this.rc(this.env.core.isDomainLocal(this.format(domain)) ? 1 : -1);
  }

  /**
   * flowgate: 1 when every Route value names this element (a UA's preloaded outbound-proxy route),
   * -1 when any names another host (a client asking to be relayed elsewhere), -2 without Route.
   */
  routes_are_myself(): boolean {
    const m = this.msg;
    if (!m.hasHeader(Hdr.Route)) return this.rc(-2);
    const list = m.addressList(Hdr.Route);
    if (list === undefined || list.length === 0) return this.rc(-1);
    for (const r of list)
      if (!(r.uri instanceof SipUri) || !this.env.core.isMyself(r.uri)) return this.rc(-1);
    return this.rc(1);
  }

  // ------------------------------------------------------------------ nathelper

  #nat(fn: string): Nathelper {
    return this.#mod('nathelper', fn);
  }

  /** `nat_uac_test(flags)`: 1 when a test of `flags` (see `NatTest`) says the UA is behind NAT. */
  nat_uac_test(flags: number | string): boolean {
    return this.rc(this.#nat('nat_uac_test').natUacTest(this.req('nat_uac_test'), Number(flags)));
  }

  /** `fix_nated_contact()`: the first Contact gets the source address. */
  fix_nated_contact(): boolean {
    return this.rc(this.#nat('fix_nated_contact').fixNatedContact(this.req('fix_nated_contact')));
  }

  /** `fix_nated_register()`: the first Contact gets `;received="<source>"` for the registrar. */
  fix_nated_register(): boolean {
    return this.rc(
      this.#nat('fix_nated_register').fixNatedRegister(this.req('fix_nated_register')),
    );
  }

  /** `add_contact_alias()`: `;alias=ip~port~proto` of the source on the first Contact URI. */
  add_contact_alias(): boolean {
    return this.rc(this.#nat('add_contact_alias').addContactAlias(this.req('add_contact_alias')));
  }

  /** `handle_ruri_alias()`: route by the Request-URI's `;alias` (1), none (-1), malformed (-2). */
  handle_ruri_alias(): boolean {
    return this.rc(this.#nat('handle_ruri_alias').handleRuriAlias(this.req('handle_ruri_alias')));
  }

  /** `nat_keepalive()`: ping the registering UDP UA's NAT binding while its registration lasts. */
  nat_keepalive(): boolean {
    return this.rc(this.#nat('nat_keepalive').natKeepalive(this.req('nat_keepalive')));
  }

  // ------------------------------------------------------------------ registrar

  #registrar(fn: string): RegistrarApi {
    return this.#mod('registrar', fn);
  }

  async save(table: string, flags?: number): Promise<boolean> {
    return this.rc(await this.#registrar('save').save(this.req('save'), table, flags));
  }

  async lookup(table: string, uri?: string): Promise<boolean> {
    return this.rc(
      await this.#registrar('lookup').lookup(
        this.req('lookup'),
        table,
        uri === undefined ? undefined : this.format(uri),
      ),
    );
  }

  async unregister(table: string, uri: string, ruid?: string): Promise<boolean> {
    return this.rc(
      await this.#registrar('unregister').unregister(
        this.req('unregister'),
        table,
        this.format(uri),
        ruid === undefined ? undefined : this.format(ruid),
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
