import { z } from 'zod';
import { type ListenEntry, parseAdvertise, parseListen } from './listen.js';
import { d, int, str } from './schema-kit.js';

// Listening sockets and the address advertised for them (`listen:`, `advertise:`).

/** Host and port written instead of the bound address. */
export const advertiseValue = z.union(
  [
    z.string().transform((s, ctx) => {
      const r = parseAdvertise(s);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.message });
        return z.NEVER;
      }
      return r.value;
    }),
    z.strictObject({
      host: str('a host name or IP address').meta({
        description: 'Host written in Via, Record-Route and Path.',
      }),
      port: d(
        int('a port 1..65535', 1, 65_535),
        "Port written with it (default: the listener's port).",
      ),
    }),
  ],
  { error: 'expected host:port (a string) or { host, port }' },
);

const listenString = z.string().transform((s, ctx): ListenEntry => {
  const r = parseListen(s);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.message });
    return z.NEVER;
  }
  return r.value;
});

const listenObject = z.strictObject({
  proto: z
    .enum(['udp', 'tcp', 'tls', 'ws', 'wss'], { error: 'expected one of udp, tcp, tls, ws, wss' })
    .meta({
      description: 'Transport.',
    }),
  address: str('an IP address').meta({
    description: 'IP address to bind (IPv6 without brackets).',
  }),
  port: int('a port 0..65535 (0 = any free port)', 0, 65_535).meta({
    description: 'Port (0 = any free port).',
  }),
  advertise: d(advertiseValue, 'Host and port to write instead of the bound address.'),
});

/** One listening socket: a listen string or an object. */
export const listenEntry = z.union([listenString, listenObject], {
  error: 'expected a listen string like udp:127.0.0.1:5060 or an object { proto, address, port }',
});
