import { defineScript, type Script } from './api.js';

/**
 * The script flowgate runs when no routing is configured: OPTIONS gets 200 (a keep-alive / health
 * probe), everything else 501 Not Implemented, statelessly.
 */
export function staticScript(): Script {
  return defineScript({
    request_route(ctx) {
      if (ctx.is_method('ACK')) ctx.exit();
      if (ctx.is_method('OPTIONS')) {
        ctx.sl_send_reply(200, 'OK');
        ctx.exit();
      }
      ctx.sl_send_reply(501, 'Not Implemented');
    },
  });
}
