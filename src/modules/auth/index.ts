import { Hdr } from '../../message/constants.js';
import type { SipRequest } from '../../message/message.js';
import { percentDecode } from '../../message/parse/chars.js';
import { SipUri } from '../../message/parse/uri.js';
import type { RequestContext } from '../../proxy/context.js';
import { BanTable } from '../../util/ban-table.js';
import type { ProxyServices } from '../proxy-api.js';
import type { CredentialStore, Subscriber } from './credentials.js';
import {
  type DigestParams,
  expectedResponse,
  parseDigestCredentials,
  quote,
  responseMatches,
} from './digest.js';
import { type DigestAlgorithm, digestHash, parseAlgorithm } from './ha1.js';
import { NonceManager } from './nonce.js';

export type { CredentialStore, Subscriber, SubscriberPage } from './credentials.js';
export { DigestAlgorithm, ha1Set } from './ha1.js';

/** `modparam("auth", …)` and `modparam("auth_db", "use_domain", …)` (seconds). */
export interface AuthParams {
  /** Fixed realm; undefined: the request's domain (To for REGISTER, From otherwise). */
  readonly realm?: string | undefined;
  /** Offered in this order, one challenge header each (RFC 8760 §2.4). */
  readonly algorithms: readonly DigestAlgorithm[];
  readonly qop: 'auth' | '';
  readonly nonce_expire: number;
  readonly nonce_count: boolean;
  readonly nc_array_size: number;
  readonly secret?: string | undefined;
  readonly user_failures: number;
  readonly user_failure_window: number;
  readonly user_lockout: number;
  /** auth_db use_domain: look users up by user and domain. */
  readonly use_domain: boolean;
}

/** Return codes of `www_authorize` / `proxy_authorize` / `auth_check` (Kamailio auth_db). */
export const AuthRc = {
  Ok: 1,
  /** Generic error (also: the user is locked out after too many failures; 403 recorded). */
  Error: -1,
  InvalidPassword: -2,
  UserUnknown: -3,
  /** The nonce expired (or is not ours any more): re-challenge with stale=true. */
  StaleNonce: -4,
  NoCredentials: -5,
  /** The nonce count did not increase: a replayed request. */
  NonceReused: -6,
  /** auth_check: the authenticated user is not the To (REGISTER) / From user. */
  UserMismatch: -8,
} as const;

/** `www_challenge` / `proxy_challenge` flags (Kamailio auth). */
export const ChallengeFlags = {
  QopAuth: 1,
  QopAuthInt: 2,
  /** Do not send a 500 on failure; return the code. */
  NoErrorReply: 4,
  Stale: 16,
} as const;

/** The credentials of a request, once verified (`$au`, `$ar`, `$ad`). */
export interface AuthIdentity {
  /** `username` as sent (may be `user@domain`). */
  readonly username: string;
  /** User part of `username`. */
  readonly user: string;
  /** Domain the user was found in. */
  readonly domain: string;
  readonly realm: string;
  /** Header index of the credentials used (for consume_credentials). */
  readonly header: number;
}

/** Per-request auth state. */
interface AuthState {
  identity?: AuthIdentity | undefined;
  /** The last check found a stale nonce: the next challenge says stale=true. */
  stale?: boolean | undefined;
}

const states = new WeakMap<RequestContext, AuthState>();

/** Counters for `/metrics`. */
export interface AuthStats {
  /** Results of authorization checks, by outcome. */
  readonly results: Record<string, number>;
  challenges: number;
  lockouts: number;
}

/** What the auth module tells the element's abuse limits about. */
export interface AuthLimitsHook {
  /** A failed password check from `ip` (counts towards a per-source ban where one applies). */
  authFailure(ip: string, port: number): void;
}

/** A fixed string of the length of an HA1, so unknown users cost what known ones do (no timing oracle). */
const DUMMY_HA1 = digestHash('MD5', 'flowgate:unknown:user');

function hostOf(uri: unknown): string | undefined {
  return uri instanceof SipUri ? uri.hostname : undefined;
}

function userOf(uri: unknown): string | undefined {
  return uri instanceof SipUri && uri.user !== undefined ? percentDecode(uri.user) : undefined;
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Digest authentication of requests (RFC 3261 §22, RFC 7616, RFC 8760; Kamailio `auth` +
 * `auth_db`): challenges with one header per algorithm, stateless HMAC nonces, nonce-count replay
 * protection, credentials from a {@link CredentialStore}, and a per-user lockout after repeated
 * failures. Unknown users and wrong passwords give the same answer.
 */
export class Auth {
  readonly #core: ProxyServices;
  readonly #params: AuthParams;
  readonly #store: CredentialStore;
  readonly #nonces: NonceManager;
  readonly #users: BanTable;
  readonly #limits: AuthLimitsHook | undefined;
  /** Branch hash per nonce slot: a retransmitted REGISTER reuses its nc legitimately. */
  readonly #lastBranch: Uint32Array;
  readonly stats: AuthStats = { results: {}, challenges: 0, lockouts: 0 };

  constructor(
    core: ProxyServices,
    params: AuthParams,
    store: CredentialStore,
    limits?: AuthLimitsHook,
  ) {
    this.#core = core;
    this.#params = params;
    this.#store = store;
    const now = (): number => core.clock.wallNow();
    this.#nonces = new NonceManager(params.secret, params.nonce_expire, params.nc_array_size, now);
    this.#users = new BanTable(
      params.user_failures,
      params.user_failure_window * 1000,
      params.user_lockout * 1000,
      now,
    );
    this.#limits = limits;
    this.#lastBranch = new Uint32Array(params.nc_array_size);
  }

  get store(): CredentialStore {
    return this.#store;
  }

  /** The realm to use: the argument, else the configured one, else the request's domain. */
  realmFor(req: SipRequest, realm: string | undefined): string {
    if (realm !== undefined && realm !== '') return realm;
    if (this.#params.realm !== undefined) return this.#params.realm;
    const u = req.method === 'REGISTER' ? req.to?.uri : req.from?.uri;
    return hostOf(u) ?? 'flowgate';
  }

  /** The identity verified for this request (undefined until an authorize function succeeded). */
  identity(ctx: RequestContext): AuthIdentity | undefined {
    return states.get(ctx)?.identity;
  }

  /** Username, realm and domain from the request's credentials, verified or not (`$au`, `$ar`, `$ad`). */
  presented(ctx: RequestContext): { username?: string; realm?: string } {
    const id = this.identity(ctx);
    if (id !== undefined) return { username: id.username, realm: id.realm };
    for (const h of [Hdr.Authorization, Hdr.ProxyAuthorization]) {
      const k = ctx.req.indexOf(h);
      if (k < 0) continue;
      const p = parseDigestCredentials(ctx.req.headerValueAt(k));
      if (p === undefined) continue;
      const out: { username?: string; realm?: string } = {};
      const u = p.get('username');
      const r = p.get('realm');
      if (u !== undefined) out.username = u;
      if (r !== undefined) out.realm = r;
      return out;
    }
    return {};
  }

  // ====================================================================== challenge

  /**
   * `www_challenge(realm, flags)` (401) / `proxy_challenge(realm, flags)` (407): one
   * WWW-/Proxy-Authenticate per configured algorithm, strongest first (RFC 8760 §2.4), sharing one
   * nonce. Sent statefully when the request has a transaction, else statelessly. 1 sent, -1 not.
   */
  challenge(ctx: RequestContext, kind: 'www' | 'proxy', realmArg: string, flags: number): number {
    const req = ctx.req;
    if (req.method === 'ACK' || req.method === 'CANCEL') return -1; // RFC 3261 §22.1: never challenged
    const realm = this.realmFor(req, realmArg);
    const st = states.get(ctx);
    const stale = (flags & ChallengeFlags.Stale) !== 0 || st?.stale === true;
    const qop =
      (flags & (ChallengeFlags.QopAuth | ChallengeFlags.QopAuthInt)) !== 0
        ? 'auth'
        : this.#params.qop;
    const nonce = this.#nonces.issue(realm);
    const name = kind === 'www' ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const headers = this.#params.algorithms.map(
      (alg) =>
        `${name}: Digest realm=${quote(realm)}, nonce="${nonce}"${qop === '' ? '' : `, qop="${qop}"`}, algorithm=${alg}${stale ? ', stale=true' : ''}`,
    );
    this.stats.challenges++;
    const status = kind === 'www' ? 401 : 407;
    const reason = kind === 'www' ? 'Unauthorized' : 'Proxy Authentication Required';
    const rc = this.#core.sendReply(ctx, status, reason, headers);
    return rc > 0 ? 1 : -1;
  }

  // ====================================================================== authorize

  /**
   * `www_authorize(realm, table)` / `proxy_authorize(realm, table)`: verifies the request's
   * Authorization / Proxy-Authorization for `realm` against the credentials store. Returns
   * {@link AuthRc}; synchronous when the store is (memory, SQLite).
   */
  authorize(
    ctx: RequestContext,
    kind: 'www' | 'proxy',
    realmArg: string,
  ): number | Promise<number> {
    const realm = this.realmFor(ctx.req, realmArg);
    const found = this.#credentials(ctx.req, kind, realm);
    if (found === undefined) return this.#result(ctx, AuthRc.NoCredentials, 'no_credentials');
    const { params: p, header } = found;
    const username = p.get('username');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    const algorithm = parseAlgorithm(p.get('algorithm'));
    const qop = p.get('qop');
    const nc = p.get('nc');
    const cnonce = p.get('cnonce');
    if (
      username === undefined ||
      nonce === undefined ||
      uri === undefined ||
      response === undefined ||
      algorithm === undefined ||
      !this.#params.algorithms.includes(algorithm) ||
      (qop !== undefined &&
        (qop.toLowerCase() !== 'auth' || nc === undefined || cnonce === undefined)) ||
      (nc !== undefined && !/^[0-9a-fA-F]{8}$/.test(nc))
    )
      return this.#result(ctx, AuthRc.NoCredentials, 'malformed');
    const v = this.#nonces.verify(nonce, realm);
    // a nonce we cannot verify (expired, or from before a restart with a random secret) is answered
    // with a fresh challenge saying stale=true: the client retries with the same password
    if (!v.ok) return this.#stale(ctx, v.stale ? 'stale' : 'foreign_nonce');
    const at = username.indexOf('@');
    const user = at > 0 ? username.slice(0, at) : username;
    const domain = (
      at > 0 && this.#params.use_domain ? username.slice(at + 1) : this.#domainFor(ctx.req, realm)
    ).toLowerCase();
    const lockKey = `${user}@${domain}`;
    if (this.#users.banned(lockKey)) {
      ctx.lastError = { status: 403, reason: 'Forbidden' };
      return this.#result(ctx, AuthRc.Error, 'locked_out');
    }
    const check = (s: Subscriber | undefined): number => {
      const ha1 =
        s === undefined || s.realm !== realm
          ? DUMMY_HA1
          : algorithm === 'MD5'
            ? at > 0
              ? s.ha1b
              : s.ha1
            : at > 0
              ? s.ha1b_sha256
              : s.ha1_sha256;
      const expected = expectedResponse({
        algorithm,
        ha1: algorithm === 'MD5' ? ha1 : ha1.length === 64 ? ha1 : digestHash(algorithm, ha1),
        method: ctx.req.method,
        uri,
        nonce,
        qop: qop?.toLowerCase(),
        nc,
        cnonce,
      });
      const match = responseMatches(expected, response);
      if (s === undefined || s.realm !== realm || !match) {
        this.#failed(ctx, lockKey);
        return this.#result(
          ctx,
          s === undefined ? AuthRc.UserUnknown : AuthRc.InvalidPassword,
          s === undefined ? 'unknown_user' : 'invalid_password',
        );
      }
      // RFC 7616 §3.4: nc must grow; without qop (RFC 2069) a nonce is good for one request
      if (this.#params.nonce_count || qop === undefined) {
        const n = nc === undefined ? 1 : Number.parseInt(nc, 16);
        const slot = v.nid & (this.#lastBranch.length - 1);
        const branch = fnv(ctx.req.topVia?.branch ?? '');
        const verdict = this.#nonces.useNc(v.nid, n);
        if (verdict === 'stale') return this.#stale(ctx, 'nc_exhausted');
        if (verdict === 'replay') {
          // a retransmitted REGISTER (same branch) is not a replay: the registrar answers it again
          if (!(ctx.req.method === 'REGISTER' && this.#lastBranch[slot] === branch))
            return this.#result(ctx, AuthRc.NonceReused, 'replay');
        }
        this.#lastBranch[slot] = branch;
      }
      states.set(ctx, {
        identity: { username, user, domain: s.domain, realm, header },
        stale: false,
      });
      return this.#result(ctx, AuthRc.Ok, 'ok');
    };
    const s = this.#store.get(user, domain);
    if (s instanceof Promise)
      return s.then(check, (err: unknown) => {
        this.#core.logger.error({ err, store: this.#store.name }, 'auth: credentials store failed');
        ctx.lastError = { status: 500, reason: 'Server Internal Error' };
        return this.#result(ctx, AuthRc.Error, 'store_error');
      });
    return check(s);
  }

  /**
   * `auth_check(realm, table, flags)`: `www_authorize` for REGISTER, `proxy_authorize` otherwise;
   * with flag 1 the authenticated user must be the To user (REGISTER: the owner of the AoR being
   * registered, RFC 3261 §10.3 step 3) or the From user (other requests), in the user's own
   * domain, else -8.
   */
  authCheck(ctx: RequestContext, realmArg: string, flags: number): number | Promise<number> {
    const isReg = ctx.req.method === 'REGISTER';
    const r = this.authorize(ctx, isReg ? 'www' : 'proxy', realmArg);
    if ((flags & 1) === 0) return r;
    const then = (rc: number): number => {
      if (rc !== AuthRc.Ok) return rc;
      const id = this.identity(ctx) as AuthIdentity;
      const uri = isReg ? ctx.req.to?.uri : ctx.req.from?.uri;
      const user = userOf(uri);
      const host = hostOf(uri);
      if (user !== id.user || (this.#params.use_domain && host !== id.domain)) {
        states.set(ctx, {});
        this.stats.results['user_mismatch'] = (this.stats.results['user_mismatch'] ?? 0) + 1;
        ctx.rc = AuthRc.UserMismatch;
        return AuthRc.UserMismatch;
      }
      return rc;
    };
    return r instanceof Promise ? r.then(then) : then(r);
  }

  /** `consume_credentials()`: removes the credentials that were verified from the forwarded request. */
  consumeCredentials(ctx: RequestContext): number {
    const id = this.identity(ctx);
    if (id === undefined) return -1;
    ctx.edits.removeHeader(id.header);
    return 1;
  }

  /** `has_credentials(realm)`: an Authorization or Proxy-Authorization for `realm` is present. */
  hasCredentials(ctx: RequestContext, realmArg: string): number {
    const realm = this.realmFor(ctx.req, realmArg);
    return this.#credentials(ctx.req, 'www', realm) !== undefined ||
      this.#credentials(ctx.req, 'proxy', realm) !== undefined
      ? 1
      : -1;
  }

  // ====================================================================== helpers

  /** The first credentials of the right kind for `realm` with a usable algorithm (RFC 8760 §2.5). */
  #credentials(
    req: SipRequest,
    kind: 'www' | 'proxy',
    realm: string,
  ): { params: DigestParams; header: number } | undefined {
    const ks = req.indexesOf(kind === 'www' ? Hdr.Authorization : Hdr.ProxyAuthorization);
    let fallback: { params: DigestParams; header: number } | undefined;
    for (const k of ks) {
      const p = parseDigestCredentials(req.headerValueAt(k));
      if (p === undefined || p.get('realm') !== realm) continue;
      const alg = parseAlgorithm(p.get('algorithm'));
      if (alg !== undefined && this.#params.algorithms.includes(alg))
        return { params: p, header: k };
      fallback ??= { params: p, header: k };
    }
    return fallback;
  }

  /** Users are looked up in the realm's domain (Kamailio auth_db with use_domain). */
  #domainFor(req: SipRequest, realm: string): string {
    if (this.#params.realm === undefined) return realm;
    const u = req.method === 'REGISTER' ? req.to?.uri : req.from?.uri;
    return hostOf(u) ?? realm;
  }

  #failed(ctx: RequestContext, lockKey: string): void {
    this.#limits?.authFailure(ctx.info.remote.address, ctx.info.remote.port);
    if (this.#users.hit(lockKey) === 'banned-now') {
      this.stats.lockouts++;
      this.#core.limitHit(
        'auth_user',
        `auth_user:${lockKey}`,
        {
          user: lockKey,
          failures: this.#params.user_failures,
          window_s: this.#params.user_failure_window,
          lockout_s: this.#params.user_lockout,
        },
        `auth: user ${lockKey} locked out for ${this.#params.user_lockout} s after more than ${this.#params.user_failures} failed authentications in ${this.#params.user_failure_window} s`,
      );
    }
  }

  #stale(ctx: RequestContext, why: string): number {
    states.set(ctx, { stale: true });
    return this.#result(ctx, AuthRc.StaleNonce, why);
  }

  #result(ctx: RequestContext, rc: number, outcome: string): number {
    this.stats.results[outcome] = (this.stats.results[outcome] ?? 0) + 1;
    if (rc !== AuthRc.Ok && rc !== AuthRc.StaleNonce) {
      const st = states.get(ctx);
      if (st?.identity !== undefined) states.set(ctx, {});
    }
    return rc;
  }

  /** Users locked out now. */
  activeLockouts(): number {
    return this.#users.activeBans();
  }
}
