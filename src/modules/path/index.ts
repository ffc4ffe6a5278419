import type { RequestContext } from '../../proxy/context.js';
import type { Outbound } from '../outbound/index.js';
import { UseOutbound } from '../outbound/index.js';
import { socketUri } from '../rr/uri.js';

/**
 * Path header insertion (RFC 3327; Kamailio path module) with RFC 5626 flow tokens: the edge puts
 * itself on the registration's Path so requests for the UA come back through it, over its flow.
 */
export class PathModule {
  readonly #ob: Outbound | undefined;

  constructor(outbound?: Outbound) {
    this.#ob = outbound;
  }

  /**
   * `add_path()`: `Path: <sip:[TOKEN@]HOST[:PORT][;transport=T];lr[;ob]>` for the socket the
   * REGISTER leaves from (outbound.md §1.4); the token describes the flow it arrived on, and `;ob`
   * is added on the first hop only (RFC 5626 §5.1).
   */
  addPath(ctx: RequestContext, user?: string, params?: string): number {
    return this.#add(ctx, user, params, false);
  }

  /** `add_path_received()`: as add_path, plus `;received=<escaped source URI>` (Kamailio PR #1261). */
  addPathReceived(ctx: RequestContext, user?: string, params?: string): number {
    return this.#add(ctx, user, params, true);
  }

  #add(
    ctx: RequestContext,
    user: string | undefined,
    params: string | undefined,
    received: boolean,
  ): number {
    let u = user;
    let ob = false;
    // only the variants without a user take part in outbound (outbound.md §1.2)
    if (u === undefined && this.#ob !== undefined && this.#ob.useOutbound(ctx) !== UseOutbound.No) {
      u = this.#ob.encode(ctx.info);
      ob = ctx.req.viaCount <= 1;
    }
    const extra =
      params === undefined || params === '' ? '' : params.startsWith(';') ? params : `;${params}`;
    let rcv = '';
    if (received) {
      const i = ctx.info;
      const host = i.remote.address.includes(':') ? `[${i.remote.address}]` : i.remote.address;
      const tp = i.proto === 'udp' ? '' : `;transport=${i.proto === 'wss' ? 'ws' : i.proto}`;
      rcv = `;received=${encodeURIComponent(`sip:${host}:${i.remote.port}${tp}`).replace(/%3A/gi, ':').replace(/%5B/gi, '[').replace(/%5D/gi, ']')}`;
    }
    ctx.headerGens.push((out) => [
      { where: 'path', line: `Path: <${socketUri(out, u)};lr${rcv}${ob ? ';ob' : ''}${extra}>` },
    ]);
    return 1;
  }
}
