import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  elementOptions,
  locationStoreConfig,
  registrarParams,
} from '../../../src/config/element.js';
import { defaultConfig, parseConfig } from '../../../src/config/load.js';
import { MemoryLocationStore } from '../../../src/modules/location/index.js';
import { defineScript } from '../../../src/script/api.js';
import { createServer, type ServerOptions } from '../../../src/server.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-element-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

describe('config: elementOptions maps an element onto createServer options', () => {
  const config = defaultConfig({ cwd: DIR });

  test('edge: listeners, globals, transport, timers, tm, rr, outbound, path, script', () => {
    const o = elementOptions(config, 'edge');
    // the options are ServerOptions (the config layer cannot import server.ts; the shapes match)
    const asServer: ServerOptions = o;
    assert.equal(asServer.name, 'edge');
    assert.deepEqual(
      o.listen.map((l) => `${l.proto}:${l.address}:${l.port}`),
      ['udp:127.0.0.1:5060', 'tcp:127.0.0.1:5060', 'ws:127.0.0.1:8080'],
    );
    assert.equal(o.tls, undefined);
    assert.deepEqual(o.aliases, []);
    assert.equal(o.forceRport, true);
    assert.deepEqual(o.transport, {
      tcpConnectionLifetime: 30,
      connectTimeout: 10,
      wsKeepaliveTimeout: 25,
      wsKeepaliveInterval: 1,
      limits: { maxMessageSize: 65_535, maxHeaders: 256, maxLineLength: 16_384 },
      maxConnections: 2048,
      maxConnectionsPerIp: 64,
      maxOutgoingConnections: 1024,
      maxBufferedBytes: 262_144,
      firstMessageTimeout: 20_000,
    });
    // issue 10: the edge recognises its registrar by source address; limits; seed-strict stays off
    assert.deepEqual(o.permissions, {
      trusted: [],
      edges: [],
      registrars: ['127.0.0.1:5070'],
    });
    assert.deepEqual(o.limits, {
      maxServerTransactions: 200_000,
      maxClientTransactions: 200_000,
      maxBranches: 12,
    });
    assert.equal(o.auth, undefined);
    assert.equal(o.signDialogs, false);
    assert.equal(o.forwardStrayResponses, false);
    assert.deepEqual(o.timers, { t1: 500, t2: 4000, frTimer: 30_000 });
    assert.deepEqual(o.tm, {
      failureReplyMode: 3,
      restartFrOnEachReply: true,
      frInvTimer: 120_000,
      autoInv100: true,
    });
    assert.deepEqual(o.rr, { append_fromtag: false, enable_double_rr: 1 });
    assert.deepEqual(o.outbound, {
      force_outbound_flag: 5,
      force_no_outbound_flag: -1,
      flow_token_secret: undefined,
      flow_token_secret_previous: undefined,
      direction_match: 'ip-port',
    });
    assert.equal(o.path, true);
    assert.equal(o.registrar, undefined);
    assert.equal(o.location, undefined);
    assert.equal(o.dataDir, join(DIR, '.data'));
    assert.equal(o.serverHeader, 'flowgate');
    assert.equal(o.sanityAutodrop, true);
    assert.equal(typeof o.script.request_route, 'function');
    assert.equal(typeof o.script.failure_route?.['FAIL_OUTBOUND'], 'function');
  });

  test('registrar: the registrar module over the given store, seed parameters', () => {
    const store = new MemoryLocationStore();
    const o = elementOptions(config, 'registrar', { location: store });
    assert.equal(typeof o.registrar, 'function');
    assert.equal(o.location, store);
    assert.equal(o.outbound, undefined);
    assert.equal(o.path, false);
    assert.equal(o.tm.restartFrOnEachReply, false);
    assert.equal(typeof o.script.route?.['LOCATION'], 'function');
    const rp = registrarParams(config.elements['registrar'] ?? assert.fail());
    assert.equal(rp?.use_path, true);
    assert.equal(rp?.outbound_mode, 1);
    assert.equal(rp?.use_domain, false);
    assert.deepEqual(locationStoreConfig(config.elements['registrar'] ?? assert.fail()), {
      backend: 'sqlite',
      path: join(DIR, '.data', 'location.db'),
      synchronous: 'NORMAL',
    });
    assert.throws(() => elementOptions(config, 'registrar'), /needs a location store/);
  });

  test('the element options build a working server', async () => {
    const c = parseConfig(
      'elements:\n  s:\n    script: static\n    listen: [udp:127.0.0.1:0]\n',
      join(DIR, 'f.yaml'),
    );
    const server = createServer(elementOptions(c, 's'));
    const ls = await server.listen();
    assert.equal(ls[0]?.proto, 'udp');
    assert.notEqual(ls[0]?.port, 0);
    await server.close();
  });

  test('module parameters reach the options (Kamailio names → flowgate fields)', () => {
    const c = parseConfig(
      [
        'elements:',
        '  edge:',
        '    alias: [example.com]',
        '    force_rport: no',
        '    tcp_connection_lifetime: 40',
        '    server_header: "Server: my-edge"',
        '    edge: { registrar: "sip:10.0.0.2:5060;transport=tcp", flow_timer: 25, seed_strict: yes }',
        '    modules:',
        '      tm: { fr_timer: 10000, retr_timer1: 250, retr_timer2: 2000, auto_inv_100: 0, failure_reply_mode: 1 }',
        '      rr: { append_fromtag: 1, enable_double_rr: 2 }',
        '      outbound:',
        '        flow_token_secret: 0123456789abcdef0123456789abcdef-new',
        '        flow_token_secret_previous: 0123456789abcdef0123456789abcdef-old',
        '        force_outbound_flag: 3',
        '        direction_match: ip',
        '      path: false',
        '      websocket: { keepalive_timeout: 30, keepalive_interval: 2 }',
        '      sanity: { autodrop: 0 }',
        '      limits: { max_message_size: 4096, max_connections: 10 }',
        '',
      ].join('\n'),
      join(DIR, 'f.yaml'),
    );
    const o = elementOptions(c, 'edge');
    assert.deepEqual(o.aliases, ['example.com']);
    assert.equal(o.forceRport, false);
    assert.equal(o.serverHeader, 'my-edge');
    assert.equal(o.transport.tcpConnectionLifetime, 40);
    assert.equal(o.transport.wsKeepaliveTimeout, 30);
    assert.equal(o.transport.wsKeepaliveInterval, 2);
    assert.equal(o.transport.limits?.maxMessageSize, 4096);
    assert.equal(o.transport.maxConnections, 10);
    assert.deepEqual(o.timers, { t1: 250, t2: 2000, frTimer: 10_000 });
    assert.equal(o.tm.autoInv100, false);
    assert.equal(o.tm.failureReplyMode, 1);
    assert.deepEqual(o.rr, { append_fromtag: true, enable_double_rr: 2 });
    assert.deepEqual(o.outbound, {
      force_outbound_flag: 3,
      force_no_outbound_flag: -1,
      flow_token_secret: '0123456789abcdef0123456789abcdef-new',
      flow_token_secret_previous: '0123456789abcdef0123456789abcdef-old',
      direction_match: 'ip',
    });
    assert.equal(o.path, false);
    assert.equal(o.sanityAutodrop, false);
    assert.equal(c.elements['edge']?.edge?.registrar, 'sip:10.0.0.2:5060;transport=tcp');
  });

  test('an edge relaying to a registrar element on port 0 takes its real URI at start', () => {
    const c = parseConfig(
      'elements:\n  edge: { listen: [udp:127.0.0.1:0] }\n  registrar: { listen: [udp:127.0.0.1:0] }\n',
      join(DIR, 'f.yaml'),
    );
    assert.equal(c.elements['edge']?.edge?.registrar, 'sip:127.0.0.1:0');
    assert.equal(c.elements['edge']?.edge?.registrar_element, 'registrar');
    // elementOptions builds the edge script with the URI it is given
    const o = elementOptions(c, 'edge', { registrarUri: 'sip:127.0.0.1:40000' });
    assert.equal(typeof o.script.request_route, 'function');
  });

  test('a script file must be loaded first; TLS files are read; unknown elements are named', () => {
    writeFileSync(join(DIR, 'c.pem'), 'CERT');
    writeFileSync(join(DIR, 'k.pem'), 'KEY');
    const c = parseConfig(
      'elements:\n  mine:\n    script: ./route.mjs\n    listen: [tls:127.0.0.1:0]\n    tls: { cert: c.pem, key: k.pem }\n',
      join(DIR, 'f.yaml'),
    );
    assert.throws(() => elementOptions(c, 'mine'), /must be loaded first/);
    const script = defineScript({ request_route() {} });
    const o = elementOptions(c, 'mine', { script });
    assert.equal(o.script, script);
    assert.deepEqual(o.tls, { cert: Buffer.from('CERT'), key: Buffer.from('KEY') });
    assert.throws(
      () => elementOptions(c, 'nope'),
      /no element 'nope' in the configuration \(there are: mine\)/,
    );
  });
});
