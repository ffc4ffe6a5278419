import { AuthRc } from '../modules/auth/index.js';
import { PermissionGroup } from '../modules/permissions/index.js';
import { LookupRc } from '../modules/registrar/api.js';
import { LooseRouteRc } from '../modules/rr/index.js';
import { defineScript, type Script } from './api.js';
import type { ScriptContext } from './context.js';

/** Options of the built-in registrar script. */
export interface RegistrarScriptParams {
  /**
   * Authenticate users (the auth module is loaded; issue 10 §3): REGISTER is challenged with 401
   * and must be for the authenticated user's own AoR in one of our domains; initial requests from
   * users are challenged with 407 and must come from the authenticated user; trusted peers
   * (`allow_source_address`) are not challenged; in-dialog requests must follow our own signed
   * Record-Route. Off: the seed's Example 1.2 as it is.
   */
  readonly auth?: boolean | undefined;
}

/**
 * The seed's Example 1.2 "Registrar Configuration" (Kamailio outbound module manual), statement by
 * statement. Run it with the registrar module loaded (`use_path` 1, `gruu_enabled` 1,
 * `outbound_mode` 1 as in the seed) and tm `contacts_avp` / `contact_flows_avp` semantics.
 *
 * Where flowgate differs from what the seed does on Kamailio (docs/kamailio-differences.md):
 * - Q-R7: a lookup with a single target (one contact, any GRUU) is relayed; the proxy core's
 *   `t_load_contacts()` loads it, so the seed's `t_load_contacts() || t_next_contacts()` test passes.
 * - Q-R8: when a flow fails (430/403/timeout) and the branch-failure route relays the next flow, the
 *   failed branch no longer counts for the best response (the core marks it superseded): a 486 from
 *   the next flow reaches the caller instead of the seed's 480. FAIL_TRANSACTION's `t_check_status("430")`
 *   then sees 430 only when every flow answered 430, as intended.
 * - Q-R10: `unregister()` removes the failed branch's binding by its ruid alone.
 * - Q-R13: `save()` answers every REGISTER exactly once; the `sl_reply_error()` after a failed
 *   save sends nothing more.
 * - A location store outage during `lookup()` (-3 with a recorded error) is answered 500 with the
 *   store's reason instead of 404: nothing is known about the user then.
 */
export function registrarScript(p: RegistrarScriptParams = {}): Script {
  const AUTH = p.auth === true;
  return defineScript({
    async request_route(ctx) {
      ctx.route('REQINIT');
      if (ctx.is_method('CANCEL')) {
        if (ctx.t_check_trans()) {
          ctx.route('RELAY');
        }
        ctx.exit();
      }
      ctx.route('WITHINDLG');
      ctx.t_check_trans();
      if (AUTH) await ctx.route('AUTH');
      ctx.remove_hf('Route');
      if (ctx.is_method('INVITE|SUBSCRIBE')) ctx.record_route();
      await ctx.route('REGISTRAR');
      if (ctx.$rU === undefined) {
        ctx.xlog('L_INFO', 'Address Incomplete\n');
        ctx.send_reply('484', 'Address Incomplete');
        ctx.exit();
      }
      await ctx.route('LOCATION');
    },

    route: {
      RELAY(ctx) {
        if (!ctx.t_relay()) {
          ctx.xlog('L_ERR', 't_relay() failed\n');
          ctx.sl_reply_error();
        }
        ctx.exit();
      },

      REQINIT(ctx) {
        if (!ctx.mf_process_maxfwd_header('10')) {
          ctx.xlog('L_INFO', 'Too Many Hops\n');
          ctx.send_reply('483', 'Too Many Hops');
          ctx.exit();
        }
        if (!ctx.sanity_check('1511', '7')) {
          ctx.xlog('Malformed SIP message from $si:$sp\n');
          ctx.exit();
        }
      },

      WITHINDLG(ctx) {
        if (ctx.has_totag()) {
          // flowgate (auth on): only through our own Record-Route (signed per dialog, checked by
          // loose_route), never through a Route set a client wrote itself
          if (AUTH && !ctx.allow_source_address(PermissionGroup.Trusted)) {
            if (!ctx.is_myself('$route_uri')) {
              if (!ctx.is_method('ACK')) ctx.send_reply('403', 'Forbidden');
              ctx.exit();
            }
          }
          if (ctx.loose_route()) {
            if (ctx.is_method('NOTIFY')) {
              ctx.record_route();
            }
            ctx.route('RELAY');
          } else {
            if (AUTH && ctx.$rc === LooseRouteRc.FlowTokenBroken) {
              // our Record-Route without this dialog's signature
              if (!ctx.is_method('ACK')) ctx.send_reply('403', 'Forbidden');
              ctx.exit();
            }
            if (ctx.is_method('ACK')) {
              if (ctx.t_check_trans()) {
                ctx.route('RELAY');
                ctx.exit();
              } else {
                ctx.exit();
              }
            }
            ctx.xlog('L_INFO', 'Not Found');
            ctx.send_reply('404', 'Not Found');
          }
          ctx.exit();
        }
      },

      // flowgate (issue 10 §3): who may register and who may call
      async AUTH(ctx) {
        if (ctx.allow_source_address(PermissionGroup.Trusted)) return;
        if (ctx.is_method('REGISTER')) {
          if (!ctx.is_domain_local('$td')) {
            ctx.send_reply('403', 'Forbidden');
            ctx.exit();
          }
          if (!(await ctx.auth_check('', 'subscriber', '1'))) {
            refuse(ctx, 'www');
            ctx.exit();
          }
          ctx.consume_credentials();
          return;
        }
        if (ctx.is_method('ACK')) return;
        if (!ctx.is_domain_local('$fd')) {
          ctx.send_reply('403', 'Forbidden');
          ctx.exit();
        }
        if (!(await ctx.auth_check('', 'subscriber', '1'))) {
          refuse(ctx, 'proxy');
          ctx.exit();
        }
        ctx.consume_credentials();
      },

      async REGISTRAR(ctx) {
        if (ctx.is_method('REGISTER')) {
          if (!(await ctx.save('location'))) {
            ctx.xlog('L_ERR', 'Unable to save location\n');
            ctx.sl_reply_error();
          }
          ctx.exit();
        }
      },

      async LOCATION(ctx) {
        if (!(await ctx.lookup('location'))) {
          ctx.$var['rc'] = ctx.$rc;
          ctx.t_newtran();
          switch (ctx.$var['rc']) {
            case LookupRc.Internal:
              // flowgate: the location store failed (lookup recorded why): 500 with that reason,
              // not 404; a malformed temp-GRUU still gets the seed's 404
              if ((ctx.request.lastError?.status ?? 0) >= 500) {
                ctx.sl_reply_error();
                ctx.exit();
              }
              ctx.send_reply('404', 'Not Found');
              ctx.exit();
              break;
            case LookupRc.NotFound:
              ctx.send_reply('404', 'Not Found');
              ctx.exit();
              break;
            case LookupRc.MethodNotAllowed:
              ctx.send_reply('405', 'Method Not Allowed');
              ctx.exit();
          }
        }
        if (!ctx.t_load_contacts() || !ctx.t_next_contacts()) {
          ctx.xlog('L_ERR', 't_(load|next)_contacts() failed\n');
          ctx.sl_reply_error();
          ctx.exit();
        }
        ctx.t_on_failure('FAIL_TRANSACTION');
        ctx.t_on_branch_failure('FAIL-BRANCH');
        ctx.route('RELAY');
        ctx.exit();
      },
    },

    onreply_route(ctx) {
      if (!ctx.t_check_trans()) {
        ctx.drop();
      }
    },

    failure_route: {
      FAIL_TRANSACTION(ctx) {
        if (!ctx.t_check_status('6[0-9][0-9]')) {
          if (ctx.t_next_contacts()) {
            ctx.t_relay();
            ctx.exit();
          }
        }
        if (ctx.t_check_status('430')) {
          ctx.t_reply('480', 'Temporarily Unavailable');
          ctx.exit();
        }
      },
    },

    event_route: {
      async 'tm:branch-failure:FAIL-BRANCH'(ctx) {
        if (ctx.t_check_status('403|430') || (ctx.t_branch_timeout() && !ctx.t_branch_replied())) {
          await ctx.unregister('location', '$tu', '$T_reply_ruid');
          if (ctx.t_next_contact_flow()) {
            ctx.t_on_branch_failure('FAIL-BRANCH');
            ctx.t_relay();
          }
        }
      },
    },
  });
}

/**
 * After a failed auth_check: 403 when the credentials are good but for another user (-8), the
 * recorded error (a lockout's 403, a store failure's 500) for -1, else a new challenge. Unknown
 * users and wrong passwords get the same challenge, so nobody learns which users exist.
 */
function refuse(ctx: ScriptContext, kind: 'www' | 'proxy'): void {
  switch (ctx.$rc) {
    case AuthRc.UserMismatch:
      ctx.send_reply('403', 'Forbidden');
      return;
    case AuthRc.Error:
      ctx.sl_reply_error();
      return;
    default:
      if (kind === 'www') ctx.www_challenge('', '0');
      else ctx.proxy_challenge('', '0');
  }
}
