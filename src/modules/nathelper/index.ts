import { isIPv4 } from 'node:net';
import { Hdr } from '../../message/constants.js';
import type { SipRequest, SipResponse } from '../../message/message.js';
import { SipUri } from '../../message/parse/uri.js';
import type { RequestContext } from '../../proxy/context.js';
import type { ListenerInfo, Proto, ReceiveInfo } from '../../transport/types.js';
import type { Timer } from '../../util/clock.js';
import type { ProxyServices } from '../proxy-api.js';

/** `modparam("nathelper", …)` (seconds). */
export interface NathelperParams {
  /** Seconds between keep-alive OPTIONS to a registered UA behind NAT (0: no pinging). */
  readonly natping_interval: number;
  /** A pinged UA that answered nothing for this long is taken as gone: requests to it get 430 at once. */
  readonly keepalive_timeout: number;
  /** From URI of the keep-alive OPTIONS. */
  readonly sipping_from: string;
}

/** `nat_uac_test(flags)` bits (Kamailio nathelper). */
export const NatTest = {
  /** The Contact URI host is a private (RFC 1918 / RFC 6598) address. */
  ContactPrivate: 1,
  /** The source IP differs from the top Via's sent-by host. */
  ViaReceived: 2,
  /** The top Via's host is a private address. */
  ViaPrivate: 4,
  /** The SDP connection address is private. */
  SdpPrivate: 8,
  /** The source port differs from the top Via's port. */
  ViaPort: 16,
  /** The source IP differs from the Contact host (e.g. SIP.js's `xxx.invalid`). */
  ContactHost: 32,
  /** The source port differs from the Contact port. */
  ContactPort: 64,
} as const;

/** Kamailio's transport numbers in an `;alias=ip~port~proto` parameter. */
const PROTO_NUM: Record<string, number> = { udp: 1, tcp: 2, tls: 3, sctp: 4, ws: 5, wss: 6 };
const NUM_PROTO: Record<string, Proto> = { 1: 'udp', 2: 'tcp', 3: 'tls', 5: 'ws', 6: 'wss' };

/** RFC 1918, RFC 6598 (carrier-grade NAT), and link-local / unique-local IPv6. */
export function isPrivateAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIPv4(h)) {
    const [a = 0, b = 0] = h.split('.').map(Number);
    return (
      a === 10 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  return h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80:');
}

function sameHost(a: string, b: string): boolean {
  return a.replace(/^\[|\]$/g, '').toLowerCase() === b.replace(/^\[|\]$/g, '').toLowerCase();
}

function firstContactUri(m: SipRequest | SipResponse): SipUri | undefined {
  const c = m.contacts;
  const u = c !== undefined && !c.star ? c.contacts[0]?.uri : undefined;
  return u instanceof SipUri ? u : undefined;
}

function defaultPort(proto: string): number {
  return proto === 'tls' || proto === 'wss' ? 5061 : 5060;
}

/** `sip:host:port;transport=…` for a received address. */
function addressUri(proto: Proto, address: string, port: number): string {
  const h = address.includes(':') ? `[${address}]` : address;
  return `sip:${h}:${port}${proto === 'udp' ? '' : `;transport=${proto === 'wss' ? 'ws' : proto}`}`;
}

/**
 * Rewrites the first Contact value's URI: `edit` gets the parsed URI and returns the new URI text.
 * The Contact header is replaced in the forwarded copy (the received bytes stay as they were).
 */
function rewriteFirstContact(ctx: RequestContext, edit: (u: SipUri) => string): boolean {
  const req = ctx.req;
  const k = req.indexOf(Hdr.Contact);
  const c = req.contacts;
  const first = c !== undefined && !c.star ? c.contacts[0] : undefined;
  if (k < 0 || first === undefined || !(first.uri instanceof SipUri)) return false;
  const value = req.headerValueAt(k);
  const old = first.uriText;
  const i = value.indexOf(old);
  if (i < 0) return false;
  ctx.edits.replaceHeader(
    k,
    `${value.slice(0, i)}${edit(first.uri)}${value.slice(i + old.length)}`,
  );
  return true;
}

/** A UA behind NAT that registered without outbound, pinged by the edge to keep its NAT binding open. */
interface Pinged {
  readonly listener: ListenerInfo;
  readonly address: string;
  readonly port: number;
  /** Wall-clock ms the registration ends. */
  until: number;
  /** Wall-clock ms of the last answer (or of the registration). */
  lastAnswer: number;
  seq: number;
}

const PING_BRANCH = 'z9hG4bK.fgnatping.';

/**
 * Kamailio's `nathelper` for UAs that do not use RFC 5626: detecting NAT (`nat_uac_test`), fixing
 * Contacts (`fix_nated_contact`, `fix_nated_register`), routing by a Contact alias
 * (`add_contact_alias`, `handle_ruri_alias`), and keeping the NAT binding of a registered UDP UA
 * open with OPTIONS pings (`nat_keepalive`). A pinged UA that stops answering is taken as gone, so
 * a request to it fails at once (430) instead of waiting for fr_timer.
 */
export class Nathelper {
  readonly #core: ProxyServices;
  readonly #params: NathelperParams;
  readonly #pinged = new Map<string, Pinged>();
  /** Requests whose REGISTER reply starts (or ends) pinging: the flow they came on. */
  readonly #pending = new WeakMap<SipRequest, ReceiveInfo>();
  #timer: Timer | undefined;
  #callSeq = 0;
  readonly stats = { pings: 0, answers: 0, gone: 0 };

  constructor(core: ProxyServices, params: NathelperParams) {
    this.#core = core;
    this.#params = params;
    core.relayedFinalHooks.push((req, _info, res) => this.#onFinal(req, res));
    core.strayResponseHooks.push((res, info) => this.#onStray(res, info));
  }

  /** `nat_uac_test(flags)`: 1 when any of the tests in `flags` says the UA is behind NAT, else -1. */
  natUacTest(ctx: RequestContext, flags: number): number {
    const req = ctx.req;
    const src = ctx.info.remote;
    const via = req.topVia;
    const contact = firstContactUri(req);
    const tests: [number, () => boolean][] = [
      [NatTest.ContactPrivate, () => contact !== undefined && isPrivateAddress(contact.hostname)],
      [NatTest.ViaReceived, () => via !== undefined && !sameHost(via.host, src.address)],
      [NatTest.ViaPrivate, () => via !== undefined && isPrivateAddress(via.host)],
      [
        NatTest.SdpPrivate,
        () => {
          const m = /^c=IN IP[46] ([^\s]+)/m.exec(req.body.toString('latin1'));
          return m?.[1] !== undefined && isPrivateAddress(m[1]);
        },
      ],
      [
        NatTest.ViaPort,
        () => via !== undefined && (via.port ?? defaultPort(ctx.info.proto)) !== src.port,
      ],
      [
        NatTest.ContactHost,
        () => contact !== undefined && !sameHost(contact.hostname, src.address),
      ],
      [
        NatTest.ContactPort,
        () =>
          contact !== undefined &&
          (contact.port ?? defaultPort(contact.transport ?? ctx.info.proto)) !== src.port,
      ],
    ];
    for (const [bit, test] of tests) if ((flags & bit) !== 0 && test()) return 1;
    return -1;
  }

  /** `fix_nated_contact()`: the first Contact's host and port become the request's source address. */
  fixNatedContact(ctx: RequestContext): number {
    const src = ctx.info.remote;
    const host = src.address.includes(':') ? `[${src.address}]` : src.address;
    return rewriteFirstContact(ctx, (u) => {
      const c = u.clone();
      c.host = host;
      c.port = src.port;
      return c.toString();
    })
      ? 1
      : -1;
  }

  /**
   * `fix_nated_register()`: the first Contact gets `;received="<source URI>"`, which the registrar
   * stores and routes by when the binding has no Path (Kamailio's `received_param`).
   */
  fixNatedRegister(ctx: RequestContext): number {
    if (ctx.req.method !== 'REGISTER') return -1;
    const k = ctx.req.indexOf(Hdr.Contact);
    if (k < 0) return -1;
    const c = ctx.req.contacts;
    if (c === undefined || c.star || c.contacts.length === 0) return -1;
    const i = ctx.info;
    const value = ctx.req.headerValueAt(k);
    const first = c.contacts[0];
    if (first === undefined || first.params.has('received')) return -1;
    // the first contact's header parameters end at the first comma outside quotes and <>
    const end = firstValueEnd(value);
    ctx.edits.replaceHeader(
      k,
      `${value.slice(0, end)};received="${addressUri(i.proto, i.remote.address, i.remote.port)}"${value.slice(end)}`,
    );
    return 1;
  }

  /** `add_contact_alias()`: `;alias=ip~port~proto` of the source on the first Contact URI (dialogs through NAT). */
  addContactAlias(ctx: RequestContext): number {
    const i = ctx.info;
    const p = PROTO_NUM[i.proto] ?? 1;
    return rewriteFirstContact(ctx, (u) => {
      const c = u.clone();
      c.params.delete('alias');
      c.params.set('alias', `${i.remote.address}~${i.remote.port}~${p}`);
      return c.toString();
    })
      ? 1
      : -1;
  }

  /**
   * `handle_ruri_alias()`: a Request-URI with `;alias=ip~port~proto` is sent to that address (the
   * alias is removed from the URI). Over TCP, TLS and WebSocket only the existing connection may
   * carry it: when it is gone the request fails with 430 at once, as a flow token's would.
   * 1 done, -1 no alias, -2 a malformed alias.
   */
  handleRuriAlias(ctx: RequestContext): number {
    const u = ctx.ruriParsed;
    if (!(u instanceof SipUri)) return -1;
    const a = u.params.get('alias');
    if (typeof a !== 'string') return -1;
    const [ip, portText, protoText] = a.split('~');
    const port = Number(portText);
    const proto = NUM_PROTO[protoText ?? ''];
    if (
      ip === undefined ||
      !Number.isInteger(port) ||
      port < 1 ||
      port > 65_535 ||
      proto === undefined
    )
      return -2;
    const c = u.clone();
    c.params.delete('alias');
    ctx.ruri = c.toString();
    ctx.resetDestination();
    ctx.du = addressUri(proto, ip, port);
    if (proto !== 'udp') {
      const flow = this.#core.transport.findConnection(proto, { address: ip, port });
      if (flow === undefined) ctx.deadFlow = true;
      else ctx.flowId = flow.id;
    }
    return 1;
  }

  // ------------------------------------------------------------------ keep-alive (nat_keepalive)

  /**
   * `nat_keepalive()` (for a REGISTER): once the registrar's 2xx comes back, the UA's address gets
   * an OPTIONS every `natping_interval` seconds until its registration ends, from the socket the
   * REGISTER came in on, so its NAT binding stays open. UDP only (a connection is kept open by the
   * UA itself). 1 armed, -1 not (not a UDP REGISTER, or pinging is off).
   */
  natKeepalive(ctx: RequestContext): number {
    if (ctx.req.method !== 'REGISTER' || ctx.info.proto !== 'udp') return -1;
    if (this.#params.natping_interval <= 0) return -1;
    this.#pending.set(ctx.req, ctx.info);
    return 1;
  }

  /** The UDP address is a pinged UA that stopped answering (requests to it fail with 430 at once). */
  isGone(listenerId: number, address: string, port: number): boolean {
    const p = this.#pinged.get(key(listenerId, address, port));
    if (p === undefined || this.#params.keepalive_timeout <= 0) return false;
    return this.#core.clock.wallNow() - p.lastAnswer > this.#params.keepalive_timeout * 1000;
  }

  /** UAs pinged now. */
  get pingedCount(): number {
    return this.#pinged.size;
  }

  #onFinal(req: SipRequest, res: SipResponse): void {
    const info = this.#pending.get(req);
    if (info === undefined) return;
    this.#pending.delete(req);
    const k = key(info.listener.id, info.remote.address, info.remote.port);
    if (res.status < 200 || res.status >= 300) return;
    const expires = registeredExpires(req, res);
    const now = this.#core.clock.wallNow();
    if (expires <= 0) {
      this.#pinged.delete(k);
      return;
    }
    const p = this.#pinged.get(k);
    if (p !== undefined) {
      p.until = now + expires * 1000;
      p.lastAnswer = now;
    } else {
      this.#pinged.set(k, {
        listener: info.listener,
        address: info.remote.address,
        port: info.remote.port,
        until: now + expires * 1000,
        lastAnswer: now,
        seq: 0,
      });
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#pinged.size === 0) return;
    this.#timer = this.#core.clock.setTimer(this.#params.natping_interval * 1000, () => {
      this.#timer = undefined;
      this.#pingAll();
      this.#arm();
    });
  }

  #pingAll(): void {
    const now = this.#core.clock.wallNow();
    for (const [k, p] of this.#pinged) {
      if (p.until <= now) {
        this.#pinged.delete(k);
        continue;
      }
      this.#ping(p);
    }
  }

  #ping(p: Pinged): void {
    const l = p.listener;
    const lh = l.advertise?.host ?? (l.address.includes(':') ? `[${l.address}]` : l.address);
    const lp = l.advertise?.port ?? l.port;
    const h = p.address.includes(':') ? `[${p.address}]` : p.address;
    p.seq++;
    this.#callSeq = (this.#callSeq + 1) >>> 0;
    const msg =
      `OPTIONS sip:${h}:${p.port} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${lh}:${lp};branch=${PING_BRANCH}${this.#callSeq.toString(36)}\r\n` +
      `Max-Forwards: 70\r\n` +
      `From: <${this.#params.sipping_from}>;tag=fgnatping\r\n` +
      `To: <sip:${h}:${p.port}>\r\n` +
      `Call-ID: fgnatping.${this.#callSeq.toString(36)}@${lh}\r\n` +
      `CSeq: ${p.seq} OPTIONS\r\n` +
      `Content-Length: 0\r\n\r\n`;
    this.stats.pings++;
    this.#core.transport.send(Buffer.from(msg, 'latin1'), {
      proto: 'udp',
      address: p.address,
      port: p.port,
      listenerId: l.id,
    });
  }

  /** Any answer to a keep-alive OPTIONS (even an error) shows the UA is there. */
  #onStray(res: SipResponse, info: ReceiveInfo): boolean {
    const branch = res.topVia?.branch;
    if (branch === undefined || !branch.startsWith(PING_BRANCH)) return false;
    const p = this.#pinged.get(key(info.listener.id, info.remote.address, info.remote.port));
    if (p !== undefined) {
      p.lastAnswer = this.#core.clock.wallNow();
      this.stats.answers++;
    }
    return true;
  }
}

function key(listenerId: number, address: string, port: number): string {
  return `${listenerId}|${address.toLowerCase()}|${port}`;
}

/** The end of the first value of a comma-separated Contact header value (outside quotes and <>). */
function firstValueEnd(v: string): number {
  let quoted = false;
  let angle = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '"' && v[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && c === '<') angle = true;
    else if (!quoted && c === '>') angle = false;
    else if (!quoted && !angle && c === ',') return i;
  }
  return v.length;
}

/**
 * How long the registrar bound the REGISTER's first Contact: its `expires` in the 2xx (the Contact
 * with the same URI), else the reply's Expires header, else the request's.
 */
function registeredExpires(req: SipRequest, res: SipResponse): number {
  const mine = firstContactUri(req)?.toString();
  const c = res.contacts;
  if (c !== undefined && !c.star) {
    for (const x of c.contacts) {
      if (mine !== undefined && x.uri instanceof SipUri && x.uri.toString() === mine) {
        const e = x.params.get('expires');
        if (typeof e === 'string' && /^\d+$/.test(e)) return Number(e);
      }
    }
  }
  return res.expires ?? req.expires ?? 0;
}

/** Parses an alias value for tests and tools. */
export function parseAlias(a: string): { address: string; port: number; proto: Proto } | undefined {
  const [ip, portText, protoText] = a.split('~');
  const proto = NUM_PROTO[protoText ?? ''];
  const port = Number(portText);
  if (ip === undefined || proto === undefined || !Number.isInteger(port)) return undefined;
  return { address: ip, port, proto };
}
