import type { ScriptContext } from '../../src/script/context.js';

/**
 * The request-route opening of the tests' stateful proxy scripts, in the seed's style: Max-Forwards
 * (483), in-dialog requests by loose routing (ACK through t_check_trans, else 404), CANCEL through
 * t_check_trans + t_relay, each ending the route; then t_check_trans for retransmissions and
 * Record-Route for INVITE. What follows (choosing the target, t_relay) is the test's own.
 */
export function proxyPreamble(ctx: ScriptContext): void {
  if (!ctx.mf_process_maxfwd_header(10)) {
    ctx.sl_send_reply(483, 'Too Many Hops');
    ctx.exit();
  }
  if (ctx.has_totag()) {
    if (ctx.loose_route()) ctx.t_relay();
    else {
      if (ctx.is_method('ACK')) {
        if (ctx.t_check_trans()) ctx.t_relay();
        ctx.exit();
      }
      ctx.sl_send_reply(404, 'Not here');
    }
    ctx.exit();
  }
  if (ctx.is_method('CANCEL')) {
    if (ctx.t_check_trans()) ctx.t_relay();
    ctx.exit();
  }
  ctx.t_check_trans();
  if (ctx.is_method('INVITE')) ctx.record_route();
}
