import { LooseRouteRc } from '../modules/rr/index.js';
import { defineScript, type Script } from './api.js';

/** Parameters of the built-in edge script (the seed's `#!subst` / `#!substdef` values). */
export interface EdgeScriptParams {
  /** `sip:REGISTRAR_IP:REGISTRAR_PORT`: where REGISTERs and initial requests from clients go. */
  readonly registrar: string;
  /** `FLOW_TIMER`: seconds written into Flow-Timer on 2xx to an outbound REGISTER. */
  readonly flowTimer: number;
  /**
   * Seed-exact behaviour for an initial request from the registrar whose Route has no flow token
   * (Kamailio answers 500, quirk Q-E1). Default false: flowgate routes it by the remaining Route /
   * Request-URI (decision Q-E1).
   */
  readonly seedStrict?: boolean | undefined;
}

/**
 * The seed's Example 1.1 "Edge Proxy Configuration" (Kamailio outbound module manual), statement by
 * statement. Differences from the seed are the decisions in docs/kamailio-differences.md: Q-E1
 * (non-outbound registrations stay callable) unless `seedStrict`.
 */
export function edgeProxyScript(p: EdgeScriptParams): Script {
  const REGISTRAR = p.registrar;
  const FLOW_TIMER = p.flowTimer;
  return defineScript({
    request_route(ctx) {
      ctx.route('REQINIT');
      if (ctx.is_method('CANCEL')) {
        if (ctx.t_check_trans()) {
          ctx.route('RELAY');
        }
        ctx.exit();
      }
      ctx.route('WITHINDLG');
      ctx.t_check_trans();
      if (ctx.is_method('REGISTER')) {
        ctx.remove_hf('Route');
        ctx.add_path();
        ctx.$du = REGISTRAR;
      } else {
        if (ctx.is_method('INVITE|SUBSCRIBE')) ctx.record_route();
        if (ctx.via(2) === undefined) {
          // From client so route to registrar...
          if (ctx.$rU === undefined) {
            ctx.sl_send_reply('484', 'Address Incomplete');
            ctx.exit();
          }
          ctx.remove_hf('Route');
          ctx.$du = REGISTRAR;
        } else {
          // From registrar so route using "Route:" headers...
          if (!ctx.loose_route()) {
            switch (ctx.$rc) {
              case LooseRouteRc.FlowTokenBroken:
                ctx.sl_send_reply('403', 'Forbidden');
                ctx.exit();
                break;
              case LooseRouteRc.Preloaded:
                // decision Q-E1: a registration without outbound: route by the Request-URI
                if (!p.seedStrict) break;
                ctx.xlog('L_ERR', 'in request_route\n');
                ctx.sl_reply_error();
                ctx.exit();
                break;
              default:
                ctx.xlog('L_ERR', 'in request_route\n');
                ctx.sl_reply_error();
                ctx.exit();
            }
          }
          ctx.t_on_failure('FAIL_OUTBOUND');
        }
      }
      ctx.route('RELAY');
    },

    route: {
      RELAY(ctx) {
        if (!ctx.t_relay()) {
          ctx.sl_reply_error();
        }
        ctx.exit();
      },

      REQINIT(ctx) {
        if (!ctx.mf_process_maxfwd_header('10')) {
          ctx.sl_send_reply('483', 'Too Many Hops');
          ctx.exit();
        }
        if (!ctx.sanity_check('1511', '7')) {
          ctx.xlog('Malformed SIP message from $si:$sp\n');
          ctx.exit();
        }
      },

      WITHINDLG(ctx) {
        if (ctx.has_totag()) {
          if (!ctx.loose_route()) {
            switch (ctx.$rc) {
              case LooseRouteRc.FlowTokenBroken:
                ctx.sl_send_reply('403', 'Forbidden');
                ctx.exit();
                break;
              default:
                if (ctx.is_method('ACK')) {
                  if (ctx.t_check_trans()) {
                    ctx.route('RELAY');
                    ctx.exit();
                  } else {
                    ctx.exit();
                  }
                }
                ctx.sl_send_reply('404', 'Not Found');
            }
          } else {
            if (ctx.is_method('NOTIFY')) {
              ctx.record_route();
            }
            ctx.route('RELAY');
          }
          ctx.exit();
        }
      },
    },

    onreply_route(ctx) {
      if (!ctx.t_check_trans()) {
        ctx.drop();
      }
      const rs = ctx.$rs ?? 0;
      if (ctx.$rm === 'REGISTER' && rs >= 200 && rs <= 299) {
        ctx.remove_hf('Flow-Timer');
        if (ctx.match(ctx.$hdr('Require', '*'), 'outbound'))
          ctx.insert_hf(`Flow-Timer: ${FLOW_TIMER}\r\n`, 'Call-ID');
      }
    },

    failure_route: {
      FAIL_OUTBOUND(ctx) {
        if (ctx.t_branch_timeout() && !ctx.t_branch_replied()) {
          ctx.send_reply('430', 'Flow Failed');
        }
      },
    },
  });
}
