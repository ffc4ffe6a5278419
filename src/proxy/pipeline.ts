import type { Logger } from '../util/logger.js';
import { ExitSignal, type ProxyTx, ReplyContext, RequestContext } from './context.js';

/*
 * Running the script's routes (request_route, onreply_route, failure and branch-failure routes)
 * with Kamailio's exit semantics and an error boundary. The proxy core decides which route runs
 * when; these functions only run one.
 */

/** What a route returns: nothing, or a promise when it is async. */
export type MaybePromise = void | Promise<void>;

/** What running a route needs of the proxy core (`ProxyCore` is one). */
export interface PipelineHost {
  readonly stats: { scriptErrors: number };
  readonly logger: Logger;
}

export function isPromise(v: unknown): v is Promise<void> {
  return (
    typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
  );
}

/** Runs a route with Kamailio's exit semantics and the script error boundary; `done` runs after it (also after an async route). */
export function runRoute(
  host: PipelineHost,
  ctx: RequestContext | ReplyContext,
  fn: () => MaybePromise,
  done: () => void,
): void {
  let r: MaybePromise;
  try {
    r = fn();
  } catch (e) {
    scriptError(host, ctx, e);
    done();
    return;
  }
  if (isPromise(r)) {
    r.then(done, (e: unknown) => {
      scriptError(host, ctx, e);
      done();
    });
    return;
  }
  done();
}

/** Runs a failure or branch-failure route: the promise of an async route, which never rejects. */
export function runRouteAsync(
  host: PipelineHost,
  ctx: RequestContext,
  fn: () => MaybePromise,
): MaybePromise {
  let r: MaybePromise;
  try {
    r = fn();
  } catch (e) {
    scriptError(host, ctx, e);
    return;
  }
  if (isPromise(r)) return r.catch((e: unknown) => scriptError(host, ctx, e));
}

/** `exit` / `drop` end a route quietly; anything else thrown is a script error, logged and counted. */
export function scriptError(
  host: PipelineHost,
  ctx: RequestContext | ReplyContext,
  e: unknown,
): void {
  if (e instanceof ExitSignal) {
    if (e.drop && ctx instanceof ReplyContext) ctx.dropped = true;
    return;
  }
  host.stats.scriptErrors++;
  const at = e instanceof Error ? scriptFrame(e.stack) : undefined;
  host.logger.error(
    { err: e, route: ctx.route, at },
    `script error in ${ctx.route}${at === undefined ? '' : ` at ${at}`}`,
  );
  // a transaction exists: answer it, never leave it hanging
  if (ctx instanceof RequestContext && ctx.tx !== undefined && !ctx.tx.finalSent)
    ctx.tx.replyLocal(500, 'Server Internal Error');
}

/** After request_route: a transaction with nothing pending and no reply is answered (never left hanging). */
export function finishRequest(logger: Logger, ctx: RequestContext): void {
  const ptx = ctx.tx;
  if (ptx === undefined || ptx.finalSent || ptx.pendingCount > 0 || ptx.routesInFlight > 0) return;
  if (ptx.branches.length > 0) {
    ptx.sendBest();
    return;
  }
  const err = ctx.lastError ?? { status: 500, reason: 'No Destination For Request' };
  logger.warn(
    { callId: ctx.req.callId, status: err.status },
    'transaction created but the script neither relayed nor replied',
  );
  ptx.replyLocal(err.status, err.reason);
}

/** A faked copy of the request for a failure route (Kamailio: R-URI as relayed, lumps kept). */
export function failureContext(
  ptx: ProxyTx,
  kind: 'failure' | 'branch-failure',
  branchIndex: number,
  vars: Record<string, string | number | undefined>,
): RequestContext {
  const base = ptx.ctx;
  const ctx = new RequestContext(base.req, base.info, kind, vars);
  const first = ptx.branches[0];
  if (first !== undefined) ctx.ruri = first.target.uri;
  ctx.ruriIsNew = false;
  ctx.edits = base.edits.clone();
  ctx.headerGens = base.headerGens;
  ctx.maxForwardsDone = base.maxForwardsDone;
  ctx.flags = base.flags;
  ctx.avps = base.avps;
  ctx.tx = ptx;
  ctx.branchIndex = branchIndex;
  return ctx;
}

/**
 * The script's own line in a stack: the first frame outside flowgate's layers (proxy, transaction,
 * transport, message, modules, util, the script API) and outside Node itself.
 */
export function scriptFrame(stack: string | undefined): string | undefined {
  if (stack === undefined) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const l = line.trim();
    if (!l.startsWith('at ')) continue;
    if (
      /[\\/](src|dist)[\\/](proxy|transaction|transport|message|modules|util)[\\/]|[\\/](src|dist)[\\/]script[\\/](context|api)\.[jt]s|node:|node_modules/.test(
        l,
      )
    )
      continue;
    const m = /\(([^()]+)\)$/.exec(l);
    return m?.[1] ?? l.slice(3);
  }
  return undefined;
}
