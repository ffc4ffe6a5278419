import { loadOrCreateKey } from '../../util/secret-file.js';
import type { ModuleExports } from '../contract.js';
import type { Outbound } from '../outbound/index.js';
import { DEFAULT_RR, LooseRouteRc, RecordRoute, type RrParams } from './index.js';

const REQ = ['request', 'failure', 'branch-failure'] as const;

/** Kamailio rr: Record-Route and loose routing (RFC 3261 §16.6, §16.12; RFC 5658 double RR). */
export const rrExports: ModuleExports = {
  name: 'rr',
  kind: 'flowgate',
  note: 'Record-Route / loose routing',
  config: 'rr',
  instance: 'rr',
  needs: ['isMyself', 'limitHit', 'stats'],
  functions: [
    {
      name: 'record_route',
      args: ['fmt'],
      optional: 1,
      routes: REQ,
      returns: {
        1: 'Record-Route added (written per branch)',
        [-1]: 'a second call on the message, or outbound "incoming" without a token to copy',
      },
      doc: 'Adds Record-Route for this element (two when the request changes socket), with a flow token when outbound applies.',
    },
    {
      name: 'loose_route',
      args: [],
      routes: REQ,
      returns: {
        [LooseRouteRc.Routed]: 'routed by the route set',
        [LooseRouteRc.FlowRouted]: 'routed by the route set and its flow token (RFC 5626 §5.3)',
        [LooseRouteRc.NoRoute]: 'no Route header (or a parse error)',
        [LooseRouteRc.FlowTokenBroken]: 'the flow token is broken or names no socket of ours',
        [LooseRouteRc.Preloaded]: 'a preloaded Route to us was consumed and nothing is left',
      },
      doc: 'Follows the Route set of an in-dialog request, removing our own entries.',
    },
  ],
  params: [
    {
      name: 'append_fromtag',
      type: 'flag',
      default: true,
      doc: 'Add `;ftag=<From tag>` to Record-Route.',
    },
    {
      name: 'enable_double_rr',
      type: 'int',
      default: 1,
      doc: 'Two Record-Route headers: 0 never, 1 when the socket changes, 2 always (RFC 5658).',
    },
  ],
  depends: ['outbound'],
  // always created; the dialog key (signDialogs) persists in the data directory
  create: (ctx) => {
    const p = ctx.params as Partial<RrParams> | undefined;
    const dialog_key = ctx.element.signDialogs
      ? loadOrCreateKey(ctx.dataFile('dialog.key'), 32)
      : undefined;
    return {
      instance: new RecordRoute(
        ctx.services,
        { ...DEFAULT_RR, ...p, dialog_key },
        ctx.dep<Outbound>('outbound'),
      ),
    };
  },
};
