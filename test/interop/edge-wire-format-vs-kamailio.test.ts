// Issue 5 §3: the Path and Record-Route flowgate's edge puts on the wire have the same shape, token
// and parameters as those of the real Kamailio edge (seed Example 1.1), for the same traffic. Both
// edges relay to a scripted "registrar" socket of this test, which records what arrives.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SipRequest } from '../../src/message/message.js';
import { scanMessage } from '../../src/message/scanner.js';
import { decodeFlowToken } from '../../src/modules/outbound/flow-token.js';
import { edgeProxyScript } from '../../src/script/edge-proxy.js';
import { UdpClient } from '../support/net.js';
import { TestUa } from '../support/ua.js';
import {
  type FlowgatePeer,
  freePort,
  type KamailioPeer,
  kamailioSkip,
  startFlowgate,
  startKamailio,
  stopAllPeers,
} from './peers.js';

const REG_IP = '127.0.59.2';
const KAM_EDGE = '127.0.59.11';
const FG_EDGE = '127.0.59.12';

/** The fake registrar: answers REGISTER 200 with Path echo + Require: outbound, records requests. */
class FakeRegistrar {
  readonly udp: UdpClient;
  readonly got: SipRequest[] = [];
  #n = 0;
  constructor(udp: UdpClient) {
    this.udp = udp;
  }
  async nextRequest(): Promise<SipRequest> {
    const b = await this.udp.next();
    const r = scanMessage(b);
    assert.ok(r.ok && r.msg.isRequest, 'a request reached the registrar');
    const req = r.msg as SipRequest;
    this.got.push(req);
    return req;
  }
  /** Replies to a REGISTER relayed by an edge (sent back to the edge's Via). */
  answerRegister(req: SipRequest, edgeIp: string, edgePort: number): void {
    const vias = req
      .getHeaders('Via')
      .map((v) => `Via: ${v}`)
      .join('\r\n');
    this.udp.send(
      `SIP/2.0 200 OK\r\n${vias}\r\nFrom: ${req.getHeader('From')}\r\nTo: ${req.getHeader('To')};tag=reg${++this.#n}\r\nCall-ID: ${req.callId}\r\nCSeq: ${req.getHeader('CSeq')}\r\nContact: ${req.getHeader('Contact')};expires=600\r\nPath: ${req.getHeader('Path')}\r\nSupported: outbound\r\nRequire: outbound\r\nContent-Length: 0\r\n\r\n`,
      edgePort,
      edgeIp,
    );
  }
  /** Sends an initial INVITE to the UA the way the registrar does after lookup: Route = the stored Path. */
  inviteVia(path: string, ruri: string, edgeIp: string, edgePort: number): void {
    this.udp.send(
      `INVITE ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP ${REG_IP}:${this.udp.port};branch=z9hG4bK-reg-${++this.#n}\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-caller${this.#n}\r\nRoute: ${path}\r\nRecord-Route: <sip:${REG_IP}:${this.udp.port};lr>\r\nMax-Forwards: 69\r\nFrom: <sip:caller@example.com>;tag=c${this.#n}\r\nTo: <sip:ua@example.com>\r\nCall-ID: cmp-${this.#n}\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@192.0.2.1>\r\nContent-Length: 0\r\n\r\n`,
      edgePort,
      edgeIp,
    );
  }
}

describe('edge wire format: flowgate vs real Kamailio (issue 5 §3)', {
  skip: kamailioSkip(),
  timeout: 120_000,
}, () => {
  let reg: FakeRegistrar;
  let kam: KamailioPeer;
  let fg: FlowgatePeer;

  before(async () => {
    reg = new FakeRegistrar(await UdpClient.open(REG_IP));
    kam = await startKamailio('edge', { edgeIp: KAM_EDGE, regIp: REG_IP, regPort: reg.udp.port });
    const port = await freePort(FG_EDGE);
    fg = await startFlowgate({
      listen: [
        { proto: 'udp', address: FG_EDGE, port },
        { proto: 'tcp', address: FG_EDGE, port },
      ],
      script: edgeProxyScript({ registrar: `sip:${REG_IP}:${reg.udp.port}`, flowTimer: 20 }),
      outbound: { force_outbound_flag: -1, force_no_outbound_flag: -1, flow_token_secret: 'cmp' },
      forceRport: true,
      aliases: ['example.com'],
    });
  });

  after(async () => {
    await stopAllPeers();
    await reg?.udp.close();
  });

  /** Registers a TCP UA through one edge; returns the Path the registrar saw and the 200 the UA got. */
  async function registerThrough(edgeIp: string, edgePort: number, localAddress: string) {
    const ua = await TestUa.connect('tcp', edgeIp, edgePort, { user: 'ua', localAddress });
    const p = ua.register({ regId: 1 });
    const req = await reg.nextRequest();
    reg.answerRegister(req, edgeIp, edgePort);
    const ok = await p;
    return { ua, req, ok };
  }

  test('Path on an outbound REGISTER over TCP: same shape, token layout and parameters', async () => {
    const k = await registerThrough(KAM_EDGE, kam.edge.port, '127.0.59.21');
    const f = await registerThrough(FG_EDGE, fg.listener('tcp').port, '127.0.59.22');
    try {
      const kp = k.req.getHeader('Path') ?? '';
      const fp = f.req.getHeader('Path') ?? '';
      const shape = (ip: string, port: number) =>
        new RegExp(`^<sip:([A-Za-z0-9+/]{31}=)@${ip.replace(/\./g, '\\.')}:${port};lr;ob>$`);
      const km = shape(KAM_EDGE, kam.edge.port).exec(kp);
      const fm = shape(FG_EDGE, fg.listener('tcp').port).exec(fp);
      assert.ok(km, `Kamailio Path: ${kp}`);
      assert.ok(fm, `flowgate Path: ${fp}`);
      // The seed edge sets no flow_token_secret, so Kamailio's key is random: compare the layout of
      // the token bodies (outbound.md §1.3.1) — MAC(10) proto(1) local ip(4) port(2) remote ip(4) port(2)
      const layout = (tok: string) => {
        const b = Buffer.from(tok, 'base64');
        return {
          len: b.length,
          proto: b[10],
          local: `${b.subarray(11, 15).join('.')}:${b.readUInt16BE(15)}`,
          remote: b.subarray(17, 21).join('.'),
        };
      };
      assert.deepEqual(layout(km[1] as string), {
        len: 23,
        proto: 2,
        local: `${KAM_EDGE}:${kam.edge.port}`,
        remote: '127.0.59.21',
      });
      assert.deepEqual(layout(fm[1] as string), {
        len: 23,
        proto: 2,
        local: `${FG_EDGE}:${fg.listener('tcp').port}`,
        remote: '127.0.59.22',
      });
      // and flowgate's MAC verifies with its own key
      assert.equal(decodeFlowToken(fg.server.outbound?.key as Buffer, fm[1]).ok, true);
      // and the UA got the same Require / Flow-Timer treatment from both
      for (const ok of [k.ok, f.ok]) {
        assert.equal(ok.getHeader('Require'), 'outbound');
        assert.equal(ok.getHeader('Flow-Timer'), '20');
      }
    } finally {
      k.ua.close();
      f.ua.close();
    }
  });

  test('Record-Route of an INVITE from the registrar to a TCP flow: two entries with r2=on and the same token, in the same order', async () => {
    const k = await registerThrough(KAM_EDGE, kam.edge.port, '127.0.59.23');
    const f = await registerThrough(FG_EDGE, fg.listener('tcp').port, '127.0.59.24');
    try {
      reg.inviteVia(k.req.getHeader('Path') ?? '', `sip:ua@127.0.59.23`, KAM_EDGE, kam.edge.port);
      reg.inviteVia(
        f.req.getHeader('Path') ?? '',
        `sip:ua@127.0.59.24`,
        FG_EDGE,
        fg.listener('tcp').port,
      );
      const ki = await k.ua.nextRequest('INVITE');
      const fi = await f.ua.nextRequest('INVITE');
      const norm = (rr: string[], ip: string, port: number) =>
        rr.map((v) =>
          v
            .replace(/sip:[A-Za-z0-9+/]{31}=@/, 'sip:TOKEN@')
            .replace(`${ip}:${port}`, 'EDGE')
            .replace(new RegExp(`${ip.replace(/\./g, '\\.')}(?=[;>])`), 'EDGE'),
        );
      const krr = norm(ki.getHeaders('Record-Route'), KAM_EDGE, kam.edge.port);
      const frr = norm(fi.getHeaders('Record-Route'), FG_EDGE, fg.listener('tcp').port);
      assert.deepEqual(
        frr,
        krr,
        `Kamailio: ${ki.getHeaders('Record-Route').join(' | ')}\nflowgate: ${fi.getHeaders('Record-Route').join(' | ')}`,
      );
      assert.match(krr[0] ?? '', /^<sip:TOKEN@EDGE;transport=tcp;r2=on;lr>$/);
      // the same token in both entries
      for (const rr of [ki.getHeaders('Record-Route'), fi.getHeaders('Record-Route')]) {
        const toks = rr.map((v) => /sip:([^@]+)@/.exec(v)?.[1]).filter((x) => x !== undefined);
        assert.equal(new Set(toks).size, 1);
      }
    } finally {
      k.ua.close();
      f.ua.close();
    }
  });
});
