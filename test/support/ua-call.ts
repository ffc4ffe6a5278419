// Calls between TestUas over their own flows (RFC 3261 §12-§15): INVITE from a registered UA through
// its edge, a 407 answered once with Proxy-Authorization (RFC 3261 §22.3), ACK, and a BYE along the
// route set from either side. The messages are written out here so a test can read what went over
// the wire.
import { randomBytes } from 'node:crypto';
import type { SipRequest, SipResponse } from '../../src/message/message.js';
import { type Credentials, digestAuthorization } from './digest.js';
import { WAIT_MS } from './net.js';
import type { TestUa } from './ua.js';

function rnd(): string {
  return randomBytes(6).toString('hex');
}

/** A dialog a call set up, from the point of view of one of its two UAs. */
export interface UaDialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** From / To header values as this side sends them. */
  readonly from: string;
  readonly to: string;
  /** Remote target (the peer's Contact URI). */
  readonly target: string;
  /** Route set, in the order the Route header lists it. */
  readonly routes: readonly string[];
  /** Next CSeq number this side uses. */
  cseq: number;
}

/** What {@link callFrom} saw. */
export interface UaCallResult {
  /** Final status of the last INVITE (after credentials, if any were sent). */
  readonly status: number;
  readonly response: SipResponse;
  /** The 401/407 to the INVITE without credentials, when there was one. */
  readonly challenge: SipResponse | undefined;
  /** The dialog, on a 2xx. */
  readonly dialog: UaDialog | undefined;
}

/**
 * INVITE `ruri` from `ua` over its flow (no preloaded Route: the edge is its outbound proxy). A 407
 * (or 401) is ACKed and, with `auth`, answered once with credentials for the challenge of
 * `algorithm` (else the first one). A non-2xx final is ACKed hop by hop; a 2xx is ACKed end to end
 * along the route set. The call stays up: hang up with {@link bye}.
 */
export async function callFrom(
  ua: TestUa,
  ruri: string,
  o: {
    auth?: (Credentials & { algorithm?: 'MD5' | 'SHA-256' }) | undefined;
    timeoutMs?: number | undefined;
  } = {},
): Promise<UaCallResult> {
  const l = ua.local;
  const domain = ua.opts.domain ?? 'example.com';
  const from = `<sip:${ua.opts.user}@${domain}>;tag=${rnd()}`;
  const localTag = /;tag=([^;>\s]+)/.exec(from)?.[1] ?? '';
  const callId = `${rnd()}@uacall`;
  const contact = `<sip:${ua.opts.user}@${l.address}:${l.port};transport=${ua.transport};ob>`;
  let cseq = 1;
  const invite = async (extra: string): Promise<{ branch: string; res: SipResponse }> => {
    const branch = `z9hG4bK${rnd()}`;
    const before = ua.responses.length;
    ua.send(`INVITE ${ruri} SIP/2.0
Via: SIP/2.0/${ua.viaTransport} ${l.address}:${l.port};branch=${branch};rport
Max-Forwards: 70
From: ${from}
To: <${ruri}>
Call-ID: ${callId}
CSeq: ${cseq} INVITE
Contact: ${contact}
${extra}Content-Length: 0

`);
    return { branch, res: await ua.finalResponse(branch, before, o.timeoutMs ?? WAIT_MS) };
  };
  const ackNon2xx = (branch: string, res: SipResponse): void => {
    ua.send(`ACK ${ruri} SIP/2.0
Via: SIP/2.0/${ua.viaTransport} ${l.address}:${l.port};branch=${branch};rport
Max-Forwards: 70
From: ${from}
To: ${res.getHeader('To')}
Call-ID: ${callId}
CSeq: ${cseq} ACK
Content-Length: 0

`);
  };

  let { branch, res } = await invite('');
  let challenge: SipResponse | undefined;
  if ((res.status === 401 || res.status === 407) && o.auth !== undefined) {
    challenge = res;
    ackNon2xx(branch, res);
    const hdr = res.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const all = res.getHeaders(hdr);
    const ch =
      all.find(
        (c) => o.auth?.algorithm === undefined || c.includes(`algorithm=${o.auth.algorithm}`),
      ) ??
      all[0] ??
      '';
    const authz = digestAuthorization(ch, { method: 'INVITE', uri: ruri }, o.auth);
    cseq++;
    ({ branch, res } = await invite(
      `${res.status === 401 ? 'Authorization' : 'Proxy-Authorization'}: ${authz}\n`,
    ));
  } else if (res.status === 401 || res.status === 407) {
    challenge = res;
  }
  if (res.status >= 300) {
    ackNon2xx(branch, res);
    return { status: res.status, response: res, challenge, dialog: undefined };
  }
  const to = res.getHeader('To') ?? '';
  const dialog: UaDialog = {
    callId,
    localTag,
    remoteTag: /;tag=([^;>\s]+)/.exec(to)?.[1] ?? '',
    from,
    to,
    target: res.contacts?.contacts[0]?.uriText ?? ruri,
    // the UAC's route set: the 2xx's Record-Route in reverse (RFC 3261 §12.1.2)
    routes: res.getValues('Record-Route').reverse(),
    cseq: cseq + 1,
  };
  // the ACK of a 2xx takes the CSeq number of the INVITE (RFC 3261 §13.2.2.4)
  sendInDialog(ua, dialog, 'ACK', cseq);
  return { status: res.status, response: res, challenge, dialog };
}

/** The dialog of the UAS side of an INVITE `ua` received and answered 2xx (RFC 3261 §12.1.1). */
export function calleeDialog(ua: TestUa, invite: SipRequest): UaDialog {
  // TestUa does not keep the To tag it put in its 2xx: read it from the ACK that came back
  const ack = ua.requests.find((r) => r.method === 'ACK' && r.callId === invite.callId);
  if (ack === undefined) throw new Error(`no ACK yet for ${invite.callId}`);
  const to = ack.getHeader('To') ?? '';
  const from = invite.getHeader('From') ?? '';
  return {
    callId: invite.callId ?? '',
    localTag: ack.toTag ?? '',
    remoteTag: invite.fromTag ?? '',
    // this side sends From = the INVITE's To (with our tag) and To = the INVITE's From
    from: to,
    to: from,
    target: invite.contacts?.contacts[0]?.uriText ?? '',
    // the UAS's route set: the INVITE's Record-Route in order (RFC 3261 §12.1.1)
    routes: invite.getValues('Record-Route'),
    cseq: 1,
  };
}

function sendInDialog(ua: TestUa, d: UaDialog, method: string, cseq: number): string {
  const l = ua.local;
  const branch = `z9hG4bK${rnd()}`;
  const route = d.routes.length > 0 ? `Route: ${d.routes.join(', ')}\n` : '';
  ua.send(`${method} ${d.target} SIP/2.0
Via: SIP/2.0/${ua.viaTransport} ${l.address}:${l.port};branch=${branch};rport
${route}Max-Forwards: 70
From: ${d.from}
To: ${d.to}
Call-ID: ${d.callId}
CSeq: ${cseq} ${method}
Content-Length: 0

`);
  return branch;
}

/** Sends BYE in `d` from `ua` along the route set and waits for its final response. */
export async function bye(ua: TestUa, d: UaDialog, timeoutMs = WAIT_MS): Promise<SipResponse> {
  const before = ua.responses.length;
  const branch = sendInDialog(ua, d, 'BYE', d.cseq++);
  return ua.finalResponse(branch, before, timeoutMs);
}
