// The flowgate side of the proxied-call benchmark (bench/proxy/run.sh): a minimal stateful proxy
// on one UDP socket, equivalent to kamailio-proxy.cfg line for line: Max-Forwards, in-dialog
// loose routing, CANCEL, record_route for INVITE, t_relay to the UAS.
//   node --import tsx bench/proxy/flowgate-proxy.ts LISTEN_IP:PORT UAS_IP:PORT
// Prints "flowgate-proxy listening udp IP:PORT" when ready, then a `stats` line a second (event-loop
// delay, GC pauses, heap, RSS); SIGTERM/SIGINT close it and exit 0 (so `node --cpu-prof` writes its
// profile).

import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { defineScript } from '../../src/script/api.js';
import { createServer } from '../../src/server.js';

function hostPort(s: string | undefined, what: string): { host: string; port: number } {
  const m = /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(s ?? '');
  if (m === null) {
    console.error(
      `usage: flowgate-proxy.ts LISTEN_IP:PORT UAS_IP:PORT (loopback only); bad ${what}: ${s}`,
    );
    process.exit(2);
  }
  return { host: m[1] as string, port: Number(m[2]) };
}

const listen = hostPort(process.argv[2], 'listen address');
const uas = hostPort(process.argv[3], 'UAS address');
const uasUri = `sip:${uas.host}:${uas.port}`;

const script = defineScript({
  request_route(ctx) {
    if (!ctx.mf_process_maxfwd_header(10)) {
      ctx.sl_send_reply(483, 'Too Many Hops');
      ctx.exit();
    }
    if (ctx.has_totag()) {
      if (ctx.loose_route()) {
        ctx.t_relay();
        ctx.exit();
      }
      if (ctx.is_method('ACK')) {
        if (ctx.t_check_trans()) ctx.t_relay();
        ctx.exit();
      }
      ctx.sl_send_reply(404, 'Not here');
      ctx.exit();
    }
    if (ctx.is_method('CANCEL')) {
      if (ctx.t_check_trans()) ctx.t_relay();
      ctx.exit();
    }
    ctx.t_check_trans();
    if (ctx.is_method('INVITE')) ctx.record_route();
    ctx.$du = uasUri;
    if (!ctx.t_relay()) ctx.sl_reply_error();
  },
});

const server = createServer({
  name: 'bench-proxy',
  listen: [{ proto: 'udp', address: listen.host, port: listen.port }],
  script,
});
const listeners = await server.listen();
for (const l of listeners)
  console.log(`flowgate-proxy listening ${l.proto} ${l.address}:${l.port} -> ${uasUri}`);

// Once a second: event-loop delay (a stall longer than the socket buffer holds drops datagrams),
// GC pauses and memory. run.sh reports the worst of each per step.
const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
let gcMax = 0;
let gcSum = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMax = Math.max(gcMax, e.duration);
    gcSum += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const mib = (n: number): string => (n / 1048576).toFixed(0);
setInterval(() => {
  const m = process.memoryUsage();
  console.log(
    `stats eld_max=${(eld.max / 1e6).toFixed(1)}ms eld_p99=${(eld.percentile(99) / 1e6).toFixed(1)}ms ` +
      `gc_max=${gcMax.toFixed(1)}ms gc_sum=${gcSum.toFixed(0)}ms heap=${mib(m.heapUsed)}MiB rss=${mib(m.rss)}MiB`,
  );
  eld.reset();
  gcMax = 0;
  gcSum = 0;
}, 1000).unref();

let closing = false;
const stop = (): void => {
  if (closing) return;
  closing = true;
  const hard = setTimeout(() => process.exit(0), 3000);
  hard.unref();
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
