import type { ModuleExports } from '../contract.js';
import { CheckFlowTokenRc, Outbound, type OutboundParams } from './index.js';

const REQ = ['request', 'failure', 'branch-failure'] as const;

/** Kamailio outbound: RFC 5626 flow tokens at the edge. */
export const outboundExports: ModuleExports = {
  name: 'outbound',
  kind: 'flowgate',
  note: 'RFC 5626 flow tokens (modules.outbound)',
  config: 'outbound',
  instance: 'outbound',
  needs: ['flowCloseHooks', 'isMyself', 'isUdpFlowGone', 'logger', 'stats', 'transport'],
  functions: [
    {
      name: 'check_flow_token',
      args: [],
      routes: REQ,
      returns: {
        [CheckFlowTokenRc.Valid]: 'the first Route carries a valid token of ours, its flow is open',
        [CheckFlowTokenRc.NoRoute]: 'no Route header',
        [CheckFlowTokenRc.NotMyself]: 'the first Route is not this element',
        [CheckFlowTokenRc.NoToken]: 'the first Route has no flow token',
        [CheckFlowTokenRc.CannotDecode]: 'the token is broken or forged',
        [CheckFlowTokenRc.NoConnection]: 'the flow is gone',
        [CheckFlowTokenRc.Expired]: 'the flow was closed when its lifetime ran out',
        [CheckFlowTokenRc.BadRoute]: 'the Route header cannot be parsed',
        [CheckFlowTokenRc.BadHeaders]: 'the message headers cannot be parsed',
      },
      doc: 'Checks the flow token of the first Route (flowgate; RFC 5626 §5.3).',
    },
  ],
  params: [
    {
      name: 'force_outbound_flag',
      type: 'int',
      default: -1,
      doc: 'Message flag that forces flow tokens into Path/Record-Route (-1 = off).',
    },
    {
      name: 'force_no_outbound_flag',
      type: 'int',
      default: -1,
      doc: 'Message flag that prevents flow tokens (-1 = off).',
    },
    {
      name: 'flow_token_secret',
      type: 'string',
      default: null,
      doc: 'Secret the flow-token key is derived from; unset: a random key kept in data_dir.',
    },
    {
      name: 'flow_token_secret_previous',
      type: 'string',
      default: null,
      doc: 'The secret before a key rotation: tokens signed with it stay valid.',
    },
    {
      name: 'direction_match',
      type: 'string',
      default: 'ip-port',
      doc: 'How a request from the token owner is recognised: ip-port (Kamailio) or ip.',
    },
  ],
  // loaded when the element gives parameters; the flow-token key persists in the data directory
  create: (ctx) => {
    const p = ctx.params as OutboundParams | undefined;
    if (p === undefined) return undefined;
    return { instance: new Outbound(ctx.services, p, ctx.dataFile('flow-token.key')) };
  },
};
