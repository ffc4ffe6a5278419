// A small RFC 5626 user agent for tests: registers over UDP, TCP, TLS or WebSocket with reg-id and
// +sip.instance, keeps its flow, answers or ignores requests that arrive on it. Loopback only.
import { randomBytes } from 'node:crypto';
import type { SipMessage, SipRequest, SipResponse } from '../../src/message/message.js';
import { scanMessage } from '../../src/message/scanner.js';
import { type Credentials, digestAuthorization } from './digest.js';
import { messageLength, StreamClient, UdpClient, WAIT_MS, WsClient, waitFor } from './net.js';

export type UaTransport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export interface UaOptions {
  /** AoR user. */
  readonly user: string;
  readonly domain?: string;
  /** `urn:uuid:…` (without <>); random when absent. */
  readonly instance?: string;
  /** Bind address of the UA (another 127.x address looks like another host). */
  readonly localAddress?: string;
  /** CA to trust for TLS / WSS. */
  readonly ca?: string | Buffer;
  /** WebSocket path. */
  readonly wsPath?: string;
}

/** What the UA does with an incoming request (other than ACK). */
export type Answer = { status: number; reason?: string } | 'silent';

function rnd(): string {
  return randomBytes(6).toString('hex');
}

/**
 * A test UA bound to one flow to the edge. `requests` collects every request received on the flow;
 * by default INVITE/MESSAGE/BYE/OPTIONS are answered 200 (INVITE with 180 first), configurable with
 * {@link answer}.
 */
export class TestUa {
  readonly transport: UaTransport;
  readonly opts: UaOptions;
  readonly instance: string;
  readonly requests: SipRequest[] = [];
  readonly responses: SipResponse[] = [];
  /** Pongs ("\r\n") received after CRLF pings, and WS frames that were pongs. */
  pongs = 0;
  answer: Answer = { status: 200 };
  #udp: UdpClient | undefined;
  #stream: StreamClient | undefined;
  #ws: WsClient | undefined;
  #edgeHost: string;
  #edgePort: number;
  #cseq = 1;
  #callId = `${rnd()}@ua`;
  #pump: NodeJS.Timeout | undefined;
  #taken = 0;
  #wsTaken = 0;

  private constructor(transport: UaTransport, host: string, port: number, opts: UaOptions) {
    this.transport = transport;
    this.#edgeHost = host;
    this.#edgePort = port;
    this.opts = opts;
    this.instance = opts.instance ?? `urn:uuid:${crypto.randomUUID()}`;
  }

  /** Opens the flow to the edge (a connection for TCP/TLS/WS, a socket for UDP). */
  static async connect(
    transport: UaTransport,
    host: string,
    port: number,
    opts: UaOptions,
  ): Promise<TestUa> {
    const ua = new TestUa(transport, host, port, opts);
    const local = opts.localAddress ?? '127.0.0.1';
    if (transport === 'udp') ua.#udp = await UdpClient.open(local);
    else if (transport === 'tcp') ua.#stream = await StreamClient.tcp(port, host, local);
    else if (transport === 'tls')
      ua.#stream = await StreamClient.tls(port, host, {
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...({ localAddress: local } as object),
      });
    else {
      const scheme = transport === 'wss' ? 'wss' : 'ws';
      const h = host.includes(':') ? `[${host}]` : host;
      ua.#ws = await WsClient.open(`${scheme}://${h}:${port}${opts.wsPath ?? '/'}`, {
        ...(opts.ca ? { ca: opts.ca } : {}),
      });
    }
    ua.#pump = setInterval(() => ua.#drain(), 2);
    ua.#pump.unref();
    return ua;
  }

  /** Local address and port of the flow as the UA sees it. */
  get local(): { address: string; port: number } {
    if (this.#udp) return { address: this.#udp.socket.address().address, port: this.#udp.port };
    if (this.#stream)
      return {
        address: this.#stream.socket.localAddress ?? '',
        port: this.#stream.socket.localPort ?? 0,
      };
    const s = (
      this.#ws?.ws as { _socket?: { localAddress?: string; localPort?: number } } | undefined
    )?._socket;
    return { address: s?.localAddress ?? '127.0.0.1', port: s?.localPort ?? 0 };
  }

  get viaTransport(): string {
    return this.transport.toUpperCase();
  }

  /** Sends raw SIP text (LF line ends are turned into CRLF). */
  send(text: string): void {
    const raw = Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');
    if (this.#udp) this.#udp.send(raw, this.#edgePort, this.#edgeHost);
    else if (this.#stream) this.#stream.write(raw);
    else this.#ws?.send(raw.toString('latin1'));
  }

  #onMessage(buf: Buffer): void {
    const r = scanMessage(buf);
    if (!r.ok) return;
    const m: SipMessage = r.msg;
    if (!m.isRequest) {
      this.responses.push(m as SipResponse);
      return;
    }
    const req = m as SipRequest;
    this.requests.push(req);
    if (req.method === 'ACK') return;
    const a = this.answer;
    if (a === 'silent') return;
    const reason = a.reason ?? (a.status === 200 ? 'OK' : 'Error');
    if (req.method === 'INVITE' && a.status >= 200 && a.status < 300) {
      // ring first, answer a moment later (as a phone does): a multi-process proxy such as
      // Kamailio may otherwise relay a 180 and a 200 sent back to back out of order
      this.reply(req, 180, 'Ringing');
      setTimeout(() => this.reply(req, a.status, reason), 30).unref();
      return;
    }
    this.reply(req, a.status, reason);
  }

  #drain(): void {
    if (this.#udp) {
      while (this.#udp.received.length > this.#taken) {
        const b = this.#udp.received[this.#taken++];
        if (b !== undefined) this.#onMessage(b);
      }
    } else if (this.#stream) {
      const data = this.#stream.data;
      for (;;) {
        // CRLF pongs between messages (RFC 5626 §4.4.1)
        while (
          data[this.#taken] === 0x0d &&
          data[this.#taken + 1] === 0x0a &&
          !(data[this.#taken + 2] === 0x0d && data[this.#taken + 3] === 0x0a)
        ) {
          this.pongs++;
          this.#taken += 2;
        }
        const t = data.subarray(this.#taken).toString('latin1');
        const n = messageLength(t);
        if (n === 0) break;
        this.#taken += n;
        this.#onMessage(Buffer.from(t.slice(0, n), 'latin1'));
      }
    } else if (this.#ws) {
      while (this.#ws.frames.length > this.#wsTaken) {
        const f = this.#ws.frames[this.#wsTaken++];
        if (f === undefined) continue;
        if (f.data.toString('latin1') === '\r\n') this.pongs++;
        else this.#onMessage(f.data);
      }
    }
  }

  /** Answers a request received on the flow (RFC 3261 §8.2.6). */
  reply(req: SipRequest, status: number, reason: string, extra = ''): void {
    const vias = req
      .getHeaders('Via')
      .map((v) => `Via: ${v}`)
      .join('\n');
    const rr = req
      .getHeaders('Record-Route')
      .map((v) => `Record-Route: ${v}`)
      .join('\n');
    const toTag = status > 100 && req.toTag === undefined ? `;tag=${this.opts.user}-${rnd()}` : '';
    const l = this.local;
    this.send(`SIP/2.0 ${status} ${reason}
${vias}
From: ${req.getHeader('From')}
To: ${req.getHeader('To')}${toTag}
Call-ID: ${req.callId}
CSeq: ${req.getHeader('CSeq')}
${rr ? `${rr}\n` : ''}${status >= 200 && status < 300 ? `Contact: <sip:${this.opts.user}@${l.address}:${l.port};transport=${this.transport};ob>\n` : ''}${extra}Content-Length: 0

`);
  }

  /** The Authorization header value of the last authenticated REGISTER (for replay tests). */
  lastAuthorization: string | undefined;

  /**
   * Sends an RFC 5626 REGISTER on the flow and waits for the final response. With `auth`, a 401 is
   * answered once with digest credentials (the challenge of `algorithm`, else the first offered).
   */
  async register(
    o: {
      regId?: number;
      expires?: number;
      supported?: string;
      callId?: string;
      contact?: string | null;
      extra?: string;
      auth?: Credentials & { algorithm?: 'MD5' | 'SHA-256' };
    } = {},
  ): Promise<SipResponse> {
    const first = await this.#register(o);
    if (first.status !== 401 || o.auth === undefined) return first;
    const challenges = first.getHeaders('WWW-Authenticate');
    const ch =
      challenges.find(
        (c) => o.auth?.algorithm === undefined || c.includes(`algorithm=${o.auth.algorithm}`),
      ) ??
      challenges[0] ??
      '';
    const domain = this.opts.domain ?? 'example.com';
    const authz = digestAuthorization(ch, { method: 'REGISTER', uri: `sip:${domain}` }, o.auth);
    this.lastAuthorization = authz;
    return this.#register({ ...o, extra: `${o.extra ?? ''}Authorization: ${authz}\n` });
  }

  async #register(
    o: {
      regId?: number;
      expires?: number;
      supported?: string;
      callId?: string;
      contact?: string | null;
      extra?: string;
    } = {},
  ): Promise<SipResponse> {
    const l = this.local;
    const domain = this.opts.domain ?? 'example.com';
    const branch = `z9hG4bK${rnd()}`;
    const contact =
      o.contact === null
        ? ''
        : `Contact: ${o.contact ?? `<sip:${this.opts.user}@${l.address}:${l.port};transport=${this.transport};ob>;reg-id=${o.regId ?? 1};+sip.instance="<${this.instance}>"`}\n`;
    const before = this.responses.length;
    this.send(`REGISTER sip:${domain} SIP/2.0
Via: SIP/2.0/${this.viaTransport} ${l.address}:${l.port};branch=${branch};rport
Max-Forwards: 70
From: <sip:${this.opts.user}@${domain}>;tag=${rnd()}
To: <sip:${this.opts.user}@${domain}>
Call-ID: ${o.callId ?? this.#callId}
CSeq: ${this.#cseq++} REGISTER
${contact}Supported: ${o.supported ?? 'path, outbound, gruu'}
Expires: ${o.expires ?? 600}
${o.extra ?? ''}Content-Length: 0

`);
    return this.finalResponse(branch, before);
  }

  /** Waits for the final response to the request with top Via `branch`. */
  async finalResponse(branch: string, from = 0, timeoutMs = WAIT_MS): Promise<SipResponse> {
    let found: SipResponse | undefined;
    await waitFor(
      () => {
        found = this.responses
          .slice(from)
          .find((r) => r.status >= 200 && r.topVia?.params.get('branch') === branch);
        return found !== undefined;
      },
      timeoutMs,
      `final response to ${branch}`,
    );
    return found as SipResponse;
  }

  /** Waits for the next request of `method` received on the flow. */
  async nextRequest(method: string, timeoutMs = WAIT_MS, from = 0): Promise<SipRequest> {
    let found: SipRequest | undefined;
    await waitFor(
      () => {
        found = this.requests.slice(from).find((r) => r.method === method);
        return found !== undefined;
      },
      timeoutMs,
      `${method} on the ${this.transport} flow of ${this.opts.user}`,
    );
    return found as SipRequest;
  }

  /** RFC 5626 §3.5.1 keep-alive: a CRLF ping on a stream flow (or WS frame); resolves on the pong. */
  async ping(timeoutMs = WAIT_MS): Promise<void> {
    const before = this.pongs;
    if (this.#stream) this.#stream.write('\r\n\r\n');
    else if (this.#ws) this.#ws.send('\r\n\r\n');
    else throw new Error('CRLF keep-alive is for connection-oriented flows (RFC 5626 §4.4.1)');
    await waitFor(() => this.pongs > before, timeoutMs, 'the CRLF pong');
  }

  /** True once the flow's connection is closed (by the edge, or locally). */
  get closed(): boolean {
    return this.#stream?.closed ?? this.#ws?.closed ?? false;
  }

  close(): void {
    if (this.#pump) clearInterval(this.#pump);
    this.#stream?.close();
    this.#ws?.close();
    void this.#udp?.close();
  }
}

/** Sends INVITE/ACK/BYE from a UDP caller to `target` and returns the final status (a minimal UAC). */
export class TestCaller {
  readonly #udp: UdpClient;
  readonly responses: SipResponse[] = [];
  #taken = 0;

  private constructor(udp: UdpClient) {
    this.#udp = udp;
  }

  static async open(localAddress = '127.0.0.1'): Promise<TestCaller> {
    return new TestCaller(await UdpClient.open(localAddress));
  }

  #drain(): void {
    while (this.#udp.received.length > this.#taken) {
      const b = this.#udp.received[this.#taken++];
      if (b === undefined) continue;
      const r = scanMessage(b);
      if (r.ok && !r.msg.isRequest) this.responses.push(r.msg as SipResponse);
    }
  }

  /** INVITE `ruri` via `host:port`; ACKs the final (non-2xx ACK by the proxy's transaction, 2xx ACK end to end) and hangs up a 2xx with BYE. */
  async call(
    ruri: string,
    host: string,
    port: number,
    timeoutMs = WAIT_MS,
  ): Promise<{ status: number; response: SipResponse }> {
    const a = this.#udp.socket.address();
    const branch = `z9hG4bK${rnd()}`;
    const callId = `${rnd()}@caller`;
    const tag = rnd();
    this.#udp.send(
      `INVITE ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP ${a.address}:${a.port};branch=${branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:caller@example.com>;tag=${tag}\r\nTo: <${ruri}>\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@${a.address}:${a.port}>\r\nContent-Length: 0\r\n\r\n`,
      port,
      host,
    );
    let fin: SipResponse | undefined;
    await waitFor(
      () => {
        this.#drain();
        fin = this.responses.find((r) => r.status >= 200 && r.callId === callId);
        return fin !== undefined;
      },
      timeoutMs,
      `final response to the INVITE to ${ruri}`,
    );
    const res = fin as SipResponse;
    const toHdr = res.getHeader('To') ?? '';
    if (res.status >= 300) {
      this.#udp.send(
        `ACK ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP ${a.address}:${a.port};branch=${branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:caller@example.com>;tag=${tag}\r\nTo: ${toHdr}\r\nCall-ID: ${callId}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`,
        port,
        host,
      );
      return { status: res.status, response: res };
    }
    // 2xx: ACK and BYE along the route set (Record-Route reversed), to the remote target
    const routes = res.getHeaders('Record-Route').reverse();
    const target = res.contacts?.contacts[0]?.uriText ?? ruri;
    const routeHdr = routes.length > 0 ? `Route: ${routes.join(', ')}\r\n` : '';
    for (const [m, seq] of [
      ['ACK', 1],
      ['BYE', 2],
    ] as const) {
      this.#udp.send(
        `${m} ${target} SIP/2.0\r\nVia: SIP/2.0/UDP ${a.address}:${a.port};branch=z9hG4bK${rnd()};rport\r\n${routeHdr}Max-Forwards: 70\r\nFrom: <sip:caller@example.com>;tag=${tag}\r\nTo: ${toHdr}\r\nCall-ID: ${callId}\r\nCSeq: ${seq} ${m}\r\nContent-Length: 0\r\n\r\n`,
        port,
        host,
      );
    }
    return { status: res.status, response: res };
  }

  close(): Promise<void> {
    return this.#udp.close();
  }
}

export { waitFor };
