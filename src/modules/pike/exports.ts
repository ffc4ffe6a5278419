import { Hdr } from '../../message/constants.js';
import type { SipRequest, SipResponse } from '../../message/message.js';
import type { ReceiveInfo } from '../../transport/types.js';
import type { ModuleExports } from '../contract.js';
import type { Permissions } from '../permissions/index.js';
import { Pike, type PikeParams, PikeRc } from './index.js';

/**
 * A final relayed upstream that tells of a failed password: the registrar's 401/407 to a request
 * that carried credentials, unless the nonce was only stale (RFC 7616 §3.3).
 */
function failedPassword(req: SipRequest, res: SipResponse): boolean {
  if (res.status !== 401 && res.status !== 407) return false;
  if (!req.hasHeader(res.status === 401 ? Hdr.Authorization : Hdr.ProxyAuthorization)) return false;
  const challenge = res.getHeader(res.status === 401 ? Hdr.WwwAuthenticate : Hdr.ProxyAuthenticate);
  return challenge === undefined || !/\bstale\s*=\s*"?true/i.test(challenge);
}

/** Kamailio pike: per-source request-rate limit, plus failed-authentication bans. */
export const pikeExports: ModuleExports = {
  name: 'pike',
  kind: 'flowgate',
  note: 'per-source rate limit (modules.pike)',
  config: 'pike',
  instance: 'pike',
  // its create wires these: bans are counted and logged as limits, relayed 401/407 finals count
  // failed authentications
  needs: ['clock', 'limitHit', 'relayedFinalHooks', 'stats'],
  functions: [
    {
      name: 'pike_check_req',
      args: [],
      returns: {
        [PikeRc.Ok]: 'the source is within its rate',
        [PikeRc.Blocked]: 'the source is banned',
        [PikeRc.NewlyBlocked]: 'this request got the source banned',
      },
      doc: 'The state of the source (the core counts every request when pike is loaded).',
    },
  ],
  params: [
    {
      name: 'sampling_time_unit',
      type: 'int',
      default: 2,
      unit: 'seconds',
      doc: 'Window of reqs_density_per_unit.',
    },
    {
      name: 'reqs_density_per_unit',
      type: 'int',
      default: 30,
      unit: 'requests',
      doc: 'Requests per window before the source is banned.',
    },
    {
      name: 'ban_time',
      type: 'int',
      default: 300,
      unit: 'seconds',
      doc: 'How long a banned source is ignored.',
    },
    {
      name: 'auth_failures',
      type: 'int',
      default: 10,
      doc: 'Failed authentications from one source within the window before a ban.',
    },
    {
      name: 'auth_failure_window',
      type: 'int',
      default: 60,
      unit: 'seconds',
      doc: 'Window of auth_failures.',
    },
  ],
  // trusted peers are exempt
  depends: ['permissions'],
  create: (ctx) => {
    const p = ctx.params as PikeParams | undefined;
    if (p === undefined) return undefined;
    const permissions = ctx.dep<Permissions>('permissions');
    const core = ctx.services;
    const pike = new Pike(
      p,
      () => ctx.clock.wallNow(),
      (ip, port) => permissions?.exempt(ip, port) === true,
      {
        banned: (ip, why, detail) =>
          core.limitHit(
            why === 'rate' ? 'pike' : 'auth_source',
            `ban:${ip}`,
            { src: ip, why, ban_s: p.ban_time },
            `source ${ip} banned for ${p.ban_time} s: ${detail}`,
          ),
        dropped: () => ctx.element.countLimit('banned_dropped'),
      },
    );
    // pike first: a banned source costs one map lookup, nothing more (issue 10 §5)
    ctx.element.setRequestFilter(
      (_req, i) => pike.checkRequest(i.remote.address, i.remote.port) >= 0,
    );
    // the edge sees the registrar's 401/407: a failed password from this client source
    core.relayedFinalHooks.push((req: SipRequest, info: ReceiveInfo, res: SipResponse) => {
      if (failedPassword(req, res)) pike.authFailure(info.remote.address, info.remote.port);
    });
    return { instance: pike };
  },
};
