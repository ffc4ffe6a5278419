import { PermissionGroup, registrarSources } from '../modules/permissions/index.js';
import { LooseRouteRc } from '../modules/rr/index.js';
import { AddressSet } from '../util/address-set.js';
import { defineScript, type Script } from './api.js';
import type { ScriptContext } from './context.js';

/** Parameters of the built-in edge script (the seed's `#!subst` / `#!substdef` values). */
export interface EdgeScriptParams {
  /**
   * `sip:REGISTRAR_IP:REGISTRAR_PORT`: where REGISTERs and initial requests from clients go (the
   * `$du` the script writes; with a registrar set the server maps it to the set's registrars).
   */
  readonly registrar: string;
  /**
   * Every registrar of the set (default: `registrar` alone): requests from any of them count as
   * from inside. Host names among them are matched by the server's registrar set (group 3).
   */
  readonly registrars?: readonly string[] | undefined;
  /** `FLOW_TIMER`: seconds written into Flow-Timer on 2xx to an outbound REGISTER. */
  readonly flowTimer: number;
  /**
   * Seed-exact behaviour for an initial request from the registrar whose Route has no flow token
   * (Kamailio answers 500, quirk Q-E1). Default false: flowgate routes it by the remaining Route /
   * Request-URI (decision Q-E1).
   */
  readonly seedStrict?: boolean | undefined;
  /**
   * The outbound module's `force_outbound_flag` and nathelper loaded: a client behind NAT that does
   * not use RFC 5626 (`nat_uac_test`) gets the flag, so the edge still puts a flow token in its Path
   * and Record-Route and requests reach it over the flow it came on; a UDP one registering gets
   * `nat_keepalive()`. Undefined: the seed's behaviour (such a UA is reached by its Contact only).
   */
  readonly natFlag?: number | undefined;
}

/**
 * nat_uac_test bits the edge uses: the Contact is private (1), or the source differs from the top
 * Via (2, 16) or from the Contact (32, 64: e.g. SIP.js's `xxxx.invalid` contact over WebSocket).
 */
const NAT_TESTS = 1 | 2 | 16 | 32 | 64;

/**
 * The edge proxy: the seed's Example 1.1 when `seedStrict`, else the same script made safe to
 * expose (issue 10 §4; docs/security.md):
 * - the registrar is recognised by the source address of a request (`allow_source_address`:
 *   the registrar addresses, group 3, or a trusted peer, group 1), never by counting Vias;
 * - from clients the edge follows only its own Record-Route and otherwise relays to the registrar:
 *   a Route naming another host is refused with 403, an in-dialog request must carry our own
 *   Record-Route on top and may not use another client's flow token, and a client's Path headers
 *   are removed before the edge adds its own.
 */
export function edgeProxyScript(p: EdgeScriptParams): Script {
  return p.seedStrict ? seedEdgeScript(p) : secureEdgeScript(p);
}

function secureEdgeScript(p: EdgeScriptParams): Script {
  const REGISTRAR = p.registrar;
  const NAT = p.natFlag;
  // the registrars' own addresses (permissions group 3, from the REGISTRAR URIs)
  const registrars = AddressSet.of((p.registrars ?? [REGISTRAR]).flatMap(registrarSources));
  /** The request came from a registrar or a trusted peer: by its source address (issue 10 §4). */
  const fromInside = (ctx: ScriptContext): boolean =>
    registrars.has(ctx.$si, ctx.$sp) ||
    ctx.allow_source_address(PermissionGroup.Registrars) ||
    ctx.allow_source_address(PermissionGroup.Trusted);
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
      const inside = fromInside(ctx);
      // RFC 3327 §5.1: a Path is added by proxies; one from a client would let it choose the route
      // the registrar takes to reach it
      if (!inside) ctx.remove_hf('Path');
      if (inside) ctx.route('WITHINDLG');
      else ctx.route('CLIENT_WITHINDLG');
      ctx.t_check_trans();
      if (!inside && NAT !== undefined && ctx.nat_uac_test(NAT_TESTS)) {
        // decision Q-E1: behind NAT without outbound: pin the flow with a token all the same
        ctx.setflag(NAT);
        if (ctx.is_method('REGISTER') && !ctx.match(ctx.$hdr('Contact'), ';reg-id='))
          ctx.nat_keepalive();
      }
      if (
        !inside &&
        NAT !== undefined &&
        ctx.is_method('REGISTER') &&
        !ctx.match(ctx.$hdr('Contact'), ';reg-id=') &&
        !ctx.match(ctx.$hdr('Supported', '*'), '(^|,)\\s*path\\s*(,|$)')
      ) {
        // RFC 3327 §5.3: the registrar refuses (420, path_mode 2) a Path the UA did not say it
        // supports, and baresip or linphone without outbound do not list `path`. The edge adds the
        // Path for the UA and routes by it itself, so it answers for it (decision Q-E1)
        ctx.append_hf('Supported: path\r\n');
      }
      if (ctx.is_method('REGISTER')) {
        ctx.remove_hf('Route');
        ctx.add_path();
        ctx.$du = REGISTRAR;
      } else {
        if (ctx.is_method('INVITE|SUBSCRIBE')) ctx.record_route();
        if (!inside) {
          // From client so route to registrar... only our own URI may be a preloaded Route
          if (!ctx.routes_are_myself() && ctx.$rc === -1) {
            ctx.xlog('L_WARN', 'foreign Route from client $si:$sp refused\n');
            ctx.sl_send_reply('403', 'Forbidden');
            ctx.exit();
          }
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

      // in-dialog requests from the registrar: the seed's WITHINDLG
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

      // in-dialog requests from clients: only through our own Record-Route, and on to the registrar
      CLIENT_WITHINDLG(ctx) {
        if (ctx.has_totag()) {
          // (the ACK of a non-2xx is matched to its INVITE transaction before the script runs;
          // an ACK here acknowledges a 2xx and travels the route set like any in-dialog request)
          if (!ctx.is_myself('$route_uri')) {
            if (!ctx.is_method('ACK')) ctx.sl_send_reply('403', 'Forbidden');
            ctx.exit();
          }
          if (!ctx.loose_route()) {
            if (!ctx.is_method('ACK')) ctx.sl_send_reply('403', 'Forbidden');
            ctx.exit();
          }
          if (ctx.$rc === LooseRouteRc.FlowRouted) {
            // the token names another client's flow: clients reach each other through the registrar
            if (!ctx.is_method('ACK')) ctx.sl_send_reply('403', 'Forbidden');
            ctx.exit();
          }
          if (ctx.is_method('NOTIFY')) {
            ctx.record_route();
          }
          ctx.$du = REGISTRAR;
          ctx.route('RELAY');
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

/**
 * The seed's Example 1.1 "Edge Proxy Configuration" (Kamailio outbound module manual), statement by
 * statement, as Kamailio runs it (`seed_strict`): it takes a request with two Vias for one from the
 * registrar and follows any Route, so it relays for anyone who asks (issue 10). Conformance tests
 * only.
 */
function seedEdgeScript(p: EdgeScriptParams): Script {
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
