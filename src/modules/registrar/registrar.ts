import { InvalidArgumentError } from '../../errors/index.js';
import { percentDecode as uriUnescape } from '../../message/parse/chars.js';
import { parseNameAddr } from '../../message/parse/name-addr.js';
import { parseUri, SipUri } from '../../message/parse/uri.js';
import type { BranchTarget, RequestContext } from '../../proxy/context.js';
import type { ReceiveInfo } from '../../transport/types.js';
import { RateLimitedLog } from '../../util/logger.js';
import type { Binding, LocationStore } from '../location/binding.js';
import { SeqSource } from '../location/seq.js';
import type { ProxyServices } from '../proxy-api.js';
import { extractAor } from './aor.js';
import { LookupRc, type RegistrarApi, SaveFlags, SaveRc, UnregisterRc } from './api.js';
import { computeChanges } from './changes.js';
import { REG_ERRORS, type RegistrarErrorCode, registrarErrorReply } from './codes.js';
import { coreHash, parseTempGruuUser, stripAngle } from './gruu.js';
import { KeyedMutex } from './lock.js';
import {
  type RegistrarParams,
  type ResolvedRegistrarParams,
  resolveRegistrarParams,
} from './params.js';
import { planRegister } from './plan.js';
import { successHeaders } from './reply.js';
import { RuidSource } from './ruid.js';

/** Options of {@link Registrar} besides its parameters (tests). */
export interface RegistrarOptions {
  /** Makes temp-GRUU nonces predictable (tests). */
  readonly newNonce?: (() => string) | undefined;
}

/** `proto:address:port` of the local socket a message arrived on (IPv6 in brackets). */
export function socketOf(info: ReceiveInfo): string {
  const a = info.local.address.includes(':') ? `[${info.local.address}]` : info.local.address;
  return `${info.proto}:${a}:${info.local.port}`;
}

/** The URI of a name-addr text (a stored Path value). */
function uriOfNameAddr(v: string): string | undefined {
  const r = parseNameAddr(v, 'Path');
  return r.ok ? r.value.uriText : undefined;
}

/**
 * The registrar (Kamailio `registrar` + the `usrloc` parts it drives): `save`, `lookup` and
 * `unregister` over one {@link LocationStore}. RFC 3261 §10.3, RFC 3327, RFC 5626 §6, RFC 5627,
 * with Kamailio master semantics (outbound.md §2) and the flowgate decisions (decisions.md).
 *
 * `save` answers the REGISTER itself, statelessly, with exactly one final reply (decision Q-R13),
 * and records the error in `ctx.lastError` so a following `sl_reply_error()` stays silent or says
 * the same. Writes for one AoR are serialized in this process and applied in one `apply()` call.
 */
export class Registrar implements RegistrarApi {
  readonly params: ResolvedRegistrarParams;
  readonly #core: ProxyServices;
  readonly #store: LocationStore;
  readonly #ruids: RuidSource;
  readonly #seqs: SeqSource;
  readonly #mutex = new KeyedMutex();
  /** Store outages fail every request: logged once per 10 s per operation, with a count. */
  readonly #storeErrorLog = new RateLimitedLog(10_000);
  readonly #newNonce: (() => string) | undefined;
  // made once, not per REGISTER (issue 12 §1)
  readonly #newRuid = (): string => this.#ruids.next();
  readonly #newSeq = (): number => this.#seqs.next();

  /** @throws InvalidArgumentError for invalid parameters. */
  constructor(
    core: ProxyServices,
    store: LocationStore,
    params: RegistrarParams = {},
    options: RegistrarOptions = {},
  ) {
    this.params = resolveRegistrarParams(params);
    this.#core = core;
    this.#store = store;
    this.#ruids = new RuidSource(core.clock);
    this.#seqs = new SeqSource(core.clock);
    this.#newNonce = options.newNonce;
  }

  /** The location store this registrar uses. */
  get store(): LocationStore {
    return this.#store;
  }

  // ====================================================================== save

  /**
   * `save("location"[, flags])` (outbound.md §2.3-§2.6). The table name is informational: one
   * registrar serves one store.
   */
  async save(ctx: RequestContext, _table: string, flags = 0): Promise<number> {
    const p = this.params;
    // sl_reply_error() answers the error of the last function (decision Q-T2)
    ctx.lastError = undefined;
    const planned = planRegister(ctx.req, ctx.req.viaCount, p);
    if (!planned.ok) return this.#fail(ctx, planned.code, flags);
    const plan = planned.plan;
    const aor = plan.aor.key;
    try {
      return await this.#mutex.run(aor, async () => {
        let current: Binding[];
        try {
          current = await this.#store.get(aor);
        } catch (err) {
          return this.#storeFailure(ctx, err, flags, 'get', aor);
        }
        const now = this.#core.clock.wallNow();
        const computed = computeChanges(plan, current, {
          now,
          params: p,
          flowId: ctx.info.flowId,
          socket: socketOf(ctx.info),
          newRuid: this.#newRuid,
          newSeq: this.#newSeq,
          newNonce: this.#newNonce,
        });
        if (!computed.ok) return this.#fail(ctx, computed.code, flags);
        const ch = computed.changes;
        // decision Q-R3 / RFC 3327 §5.3: strict path_mode refuses a Path the UA does not support,
        // checked before anything is written (Kamailio stores the bindings and still answers 420)
        if (plan.pathEcho !== undefined && p.path_mode === 2 && !plan.supportsPath) {
          return this.#fail(ctx, 'REG_ERR_PATH_UNSUP', flags, plan.pathEcho);
        }
        if (ch.upsert.length > 0 || ch.remove.length > 0) {
          try {
            // one call: all or nothing (LocationStore.apply)
            await this.#store.apply(aor, ch);
          } catch (err) {
            return this.#storeFailure(ctx, err, flags, 'apply', aor);
          }
        }
        if ((flags & SaveFlags.NoReply) === 0 && !ctx.finalSent) {
          this.#core.replyStateless(
            ctx,
            200,
            'OK',
            successHeaders(plan, ch.bindings, now, ch.outboundApplied, p),
          );
        }
        return ch.rc;
      });
    } catch (err) {
      // a bug, not a store failure: still exactly one reply, and the server keeps running
      this.#core.logger.error({ err, aor }, 'registrar: save failed unexpectedly');
      return this.#fail(ctx, 'REG_ERR_INTERNAL', flags);
    }
  }

  #storeFailure(ctx: RequestContext, err: unknown, flags: number, op: string, aor: string): number {
    const code: RegistrarErrorCode =
      err instanceof InvalidArgumentError ? 'REG_ERR_INTERNAL' : 'REG_ERR_STORE';
    const fields = { err, aor, op, store: this.#store.name, callId: ctx.req.callId };
    const msg = `registrar: location store ${op} failed`;
    if (code === 'REG_ERR_STORE')
      this.#storeErrorLog.log(this.#core.logger, 'error', op, fields, msg);
    else this.#core.logger.error(fields, msg);
    return this.#fail(ctx, code, flags);
  }

  /** Answers with the table's reply for `code` (unless NoReply) and records it for `sl_reply_error`. */
  #fail(ctx: RequestContext, code: RegistrarErrorCode, flags: number, pathEcho?: string): number {
    const p = this.params;
    const r = registrarErrorReply(code, {
      minExpires: p.min_expires,
      pathEcho,
      retryAfter: p.retry_after,
    });
    ctx.lastError = { status: r.status, reason: r.reason };
    if ((flags & SaveFlags.NoReply) === 0 && !ctx.finalSent)
      this.#core.replyStateless(ctx, r.status, r.reason, r.headers);
    return code === 'REG_ERR_TOO_MANY' ? SaveRc.TooMany : SaveRc.Error;
  }

  // ====================================================================== lookup

  /**
   * `lookup("location"[, uri])` (outbound.md §2.7-§2.8): the first binding becomes the R-URI
   * destination (Path → `$du` + path vector, RFC 3327 §5.3), the others further branches
   * (`append_branches`); a GRUU yields exactly one target (RFC 5627 §5.5). Expired bindings are never
   * returned (the store filters them).
   */
  async lookup(ctx: RequestContext, _table: string, uri?: string): Promise<number> {
    ctx.lastError = undefined;
    const text = uri ?? ctx.ruri;
    const pr = parseUri(text);
    if (!pr.ok) return LookupRc.Internal;
    const u = pr.value;
    const gr = u instanceof SipUri ? u.params.get('gr') : undefined;
    let list: Binding[];
    try {
      if (gr === null && u instanceof SipUri) {
        // RFC 5627 §5.5 temp-GRUU: `<ruid>-<aorhash>.<nonce>`; a user that is not one → -3
        const parts = parseTempGruuUser(u.user ?? '');
        if (parts === undefined) return LookupRc.Internal;
        const b = await this.#store.getByRuid(parts.ruid);
        // valid only while its nonce is one the binding handed out (decision Q-R11)
        list =
          b !== undefined && coreHash(b.aor) === parts.hash && b.tempGruus.includes(parts.nonce)
            ? [b]
            : [];
      } else {
        const a = extractAor(u, this.params);
        if (!a.ok) return LookupRc.NotFound;
        list = await this.#store.get(a.aor.key);
        if (typeof gr === 'string') {
          // RFC 5627 §5.5 pub-GRUU: the first binding of that instance
          const inst = stripAngle(uriUnescape(gr) ?? gr);
          const b = list.find((x) => x.instance !== undefined && stripAngle(x.instance) === inst);
          list = b === undefined ? [] : [b];
        }
      }
    } catch (err) {
      this.#storeErrorLog.log(
        this.#core.logger,
        'error',
        'lookup',
        { err, uri: text, store: this.#store.name },
        'registrar: location store lookup failed',
      );
      const e = REG_ERRORS.REG_ERR_STORE;
      ctx.lastError = { status: e.status, reason: e.reason };
      return LookupRc.Internal;
    }
    const now = this.#core.clock.wallNow();
    list = list.filter((b) => b.expires > now);
    if (list.length === 0) return LookupRc.NotFound;
    if (this.params.method_filtering === 1) {
      const m = ctx.req.method.toUpperCase();
      list = list.filter((b) => b.methods === undefined || b.methods.includes(m));
      if (list.length === 0) return LookupRc.MethodNotAllowed;
    }
    const [first, ...rest] = list;
    if (first === undefined) return LookupRc.NotFound;
    const t = this.#target(first);
    // R-URI := the contact; the previous destination is cleared
    ctx.ruri = t.uri;
    ctx.resetDestination();
    ctx.du = t.du;
    ctx.pathVector = t.path;
    ctx.flowId = t.flowId;
    ctx.listenerId = t.listenerId;
    ctx.attrs = {
      ruid: t.ruid,
      instance: t.instance,
      regId: t.regId,
      q: t.q,
      userAgent: t.userAgent,
    };
    if (gr === undefined && this.params.append_branches === 1) {
      for (const b of rest) ctx.branches.push(this.#target(b));
    }
    return LookupRc.Found;
  }

  /** A binding as a destination: Path → `$du` = first Path URI and path vector; else `received`. */
  #target(b: Binding): BranchTarget {
    const hasPath = b.path.length > 0;
    const du = hasPath ? uriOfNameAddr(b.path[0] ?? '') : b.received;
    // RFC 5626 §5.3 / §6: a registrar that is the UA's first hop sends over the UA's own connection
    // (a UDP "flow" is just the address, reached through the Contact as in Kamailio)
    const direct =
      !hasPath &&
      b.regId > 0 &&
      b.flowId !== undefined &&
      b.socket !== undefined &&
      !b.socket.startsWith('udp:');
    return {
      uri: b.contact,
      du,
      path: hasPath ? b.path : undefined,
      flowId: direct ? b.flowId : undefined,
      listenerId: this.#listenerOf(b.socket),
      ruid: b.ruid,
      instance: b.instance,
      regId: b.instance !== undefined ? b.regId : undefined,
      q: b.q,
      userAgent: b.userAgent,
    };
  }

  #listenerOf(socket: string | undefined): number | undefined {
    if (socket === undefined) return undefined;
    for (const l of this.#core.transport.listeners) {
      const a = l.address.includes(':') ? `[${l.address}]` : l.address;
      if (`${l.proto}:${a}:${l.port}` === socket) return l.id;
    }
    return undefined;
  }

  // ====================================================================== unregister

  /**
   * `unregister("location", uri[, ruid])` (Kamailio registrar, decision Q-R10): with a ruid, that
   * binding whatever its AoR (the URI is not used); without, every binding of the URI's AoR.
   * Each removal is logged at info, with the failed branch's status when it runs in a failure or
   * branch-failure route (a flow that failed: 430, 403 or a timeout). One line per removed
   * binding or AoR, so it cannot repeat for the same binding.
   */
  async unregister(
    ctx: RequestContext,
    _table: string,
    uri: string,
    ruid?: string,
  ): Promise<number> {
    try {
      if (ruid !== undefined) {
        if (ruid === '') return UnregisterRc.BadInput;
        const b = await this.#store.getByRuid(ruid);
        if (b === undefined) return UnregisterRc.NotFound;
        await this.#mutex.run(b.aor, () =>
          this.#store.apply(b.aor, { upsert: [], remove: [ruid] }),
        );
        this.#logRemoved(ctx, {
          aor: b.aor,
          ruid,
          contact: b.contact,
          instance: b.instance,
          regId: b.regId,
          path: b.path,
        });
        return UnregisterRc.Removed;
      }
      const a = extractAor(uri, this.params);
      if (!a.ok) return UnregisterRc.BadInput;
      const key = a.aor.key;
      const n = await this.#mutex.run(key, () => this.#store.removeAor(key));
      if (n > 0) this.#logRemoved(ctx, { aor: key, removed: n });
      return n > 0 ? UnregisterRc.Removed : UnregisterRc.NotFound;
    } catch (err) {
      this.#core.logger.error(
        { err, uri, ruid, store: this.#store.name, callId: ctx.req.callId },
        'registrar: location store unregister failed',
      );
      return UnregisterRc.StoreFailure;
    }
  }

  /** The info line of an unregister that removed something: why (the failed branch) and what. */
  #logRemoved(ctx: RequestContext, what: Record<string, unknown>): void {
    const tx = ctx.tx;
    const failed =
      tx === undefined || ctx.branchIndex < 0
        ? undefined
        : ctx.kind === 'branch-failure'
          ? tx.branches[ctx.branchIndex]
          : ctx.kind === 'failure'
            ? (tx.pickedBranch() ?? tx.branches[ctx.branchIndex])
            : undefined;
    const status = failed === undefined || failed.status === 0 ? undefined : failed.status;
    const why =
      status === undefined
        ? 'unregister'
        : `its flow failed: the branch ended with ${status}${failed?.timedOut === true ? ' (timeout)' : ''}`;
    this.#core.logger.info(
      { ...what, status, callId: ctx.req.callId, method: ctx.req.method },
      `registrar: ${'removed' in what ? 'bindings' : 'binding'} removed (${why})`,
    );
  }

  /** Waits for the writes in progress (the store itself belongs to the caller and stays open). */
  async close(): Promise<void> {
    await this.#mutex.idle();
  }
}
