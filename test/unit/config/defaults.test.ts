import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { MODULE_DEFAULTS } from '../../../src/config/defaults.js';
import { defaultConfig, loadConfig } from '../../../src/config/load.js';
import { DEFAULT_REGISTRAR_PARAMS } from '../../../src/modules/registrar/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

describe('config: the embedded default is the seed system in one process', () => {
  const c = defaultConfig({ cwd: '/srv/fg' });

  test('data in ./.data, logs info JSON, management on loopback with a generated token', () => {
    assert.equal(c.file, undefined);
    assert.equal(c.data_dir, '/srv/fg/.data');
    assert.deepEqual({ ...c.log }, { level: 'info', pretty: false, file: undefined });
    // token undefined: the instance generates data_dir/management.token at start
    assert.deepEqual(c.management, {
      listen: { host: '127.0.0.1', port: 8081 },
      token: undefined,
      hosts: [],
    });
  });

  test('edge: UDP+TCP 5060, WS 8080, seed globals, outbound and path loaded, relays to the registrar element', () => {
    const e = c.elements['edge'];
    assert.ok(e !== undefined);
    assert.deepEqual(e.script, { kind: 'builtin', name: 'edge' });
    assert.deepEqual(
      e.listen.map((l) => `${l.proto}:${l.address}:${l.port}`),
      ['udp:127.0.0.1:5060', 'tcp:127.0.0.1:5060', 'ws:127.0.0.1:8080'],
    );
    assert.equal(e.tls, undefined);
    assert.equal(e.force_rport, true);
    assert.equal(e.tcp_connection_lifetime, 30);
    assert.deepEqual(e.edge, {
      registrar: 'sip:127.0.0.1:5070',
      registrars: ['sip:127.0.0.1:5070'],
      registrar_element: 'registrar',
      registrar_select: 'priority',
      registrar_probe_interval: 10,
      registrar_probe_threshold: 2,
      registrar_timeout: 2000,
      flow_timer: 20,
      seed_strict: false,
    });
    assert.equal(e.modules.websocket.keepalive_timeout, 25);
    assert.equal(e.modules.tm.failure_reply_mode, 3);
    assert.equal(e.modules.rr.append_fromtag, false);
    assert.deepEqual(e.modules.outbound, {
      force_outbound_flag: 5,
      force_no_outbound_flag: -1,
      flow_token_secret: undefined,
      flow_token_secret_previous: undefined,
      direction_match: 'ip-port',
    });
    assert.equal(e.modules.path, true);
    assert.equal(e.modules.registrar, undefined);
    assert.equal(e.modules.usrloc, undefined);
  });

  test('registrar: UDP+TCP 5070, seed modparams, SQLite location in the data dir', () => {
    const r = c.elements['registrar'];
    assert.ok(r !== undefined);
    assert.deepEqual(
      r.listen.map((l) => `${l.proto}:${l.address}:${l.port}`),
      ['udp:127.0.0.1:5070', 'tcp:127.0.0.1:5070'],
    );
    assert.equal(r.force_rport, false);
    assert.equal(r.modules.tm.restart_fr_on_each_reply, false);
    assert.equal(r.modules.rr.append_fromtag, false);
    assert.equal(r.modules.registrar?.use_path, true);
    assert.equal(r.modules.registrar?.gruu_enabled, true);
    assert.equal(r.modules.registrar?.outbound_mode, 1);
    assert.equal(r.modules.outbound, undefined);
    assert.deepEqual(
      { ...r.modules.usrloc },
      {
        backend: 'sqlite',
        path: '/srv/fg/.data/location.db',
        synchronous: 'NORMAL',
        timer_interval: 60,
        use_domain: false,
        cseq_delay: 20,
      },
    );
  });

  test('the seed names exist with their defaults (decisions.md "Both")', () => {
    const e = c.elements['edge'];
    assert.ok(e?.modules.outbound !== undefined);
    // Kamailio's default; the edge profile sets flag 5 for UAs behind NAT without outbound (Q-E1)
    assert.equal(MODULE_DEFAULTS.outbound.force_outbound_flag, -1);
    assert.equal(e.modules.outbound.force_outbound_flag, 5);
    assert.deepEqual(e.modules.nathelper, {
      natping_interval: 25,
      keepalive_timeout: 90,
      sipping_from: 'sip:pinger@flowgate.invalid',
    });
    assert.equal(e.modules.outbound.force_no_outbound_flag, -1);
    assert.equal(e.modules.outbound.flow_token_secret, undefined);
    assert.equal(e.modules.tm.contacts_avp, 'tm_contacts');
    assert.equal(e.modules.tm.contact_flows_avp, 'tm_contact_flows');
    assert.equal(MODULE_DEFAULTS.tm.restart_fr_on_each_reply, true);
    assert.equal(MODULE_DEFAULTS.tm.failure_reply_mode, 3);
    assert.equal(MODULE_DEFAULTS.rr.append_fromtag, true); // Kamailio's default; the seeds set 0
    assert.equal(MODULE_DEFAULTS.registrar.use_path, false); // Kamailio's default; the seed sets 1
  });

  test("registrar defaults are the registrar module's", () => {
    const flags = new Set([
      'use_path',
      'gruu_enabled',
      'regid_mode',
      'min_expires_mode',
      'append_branches',
      'case_sensitive',
      'method_filtering',
    ]);
    for (const [k, v] of Object.entries(MODULE_DEFAULTS.registrar)) {
      const mod = (DEFAULT_REGISTRAR_PARAMS as unknown as Record<string, number>)[k];
      assert.equal(flags.has(k) ? Number(v) : v, mod, `registrar.${k}`);
    }
    assert.equal(MODULE_DEFAULTS.usrloc.use_domain, DEFAULT_REGISTRAR_PARAMS.use_domain === 1);
    assert.equal(MODULE_DEFAULTS.usrloc.cseq_delay, DEFAULT_REGISTRAR_PARAMS.cseq_delay);
  });

  test('examples/flowgate.yaml is the embedded default, written out', () => {
    const file = loadConfig(resolve(ROOT, 'examples/flowgate.yaml'), { dataDir: '/srv/fg/.data' });
    const dflt = defaultConfig({ cwd: '/srv/fg' });
    assert.deepEqual(JSON.parse(JSON.stringify(file)), {
      ...JSON.parse(JSON.stringify(dflt)),
      file: resolve(ROOT, 'examples/flowgate.yaml'),
      dir: resolve(ROOT, 'examples'),
    });
  });

  test('examples/edge.yaml and examples/registrar.yaml are valid, one role each', () => {
    const edge = loadConfig(resolve(ROOT, 'examples/edge.yaml'));
    assert.deepEqual(Object.keys(edge.elements), ['edge']);
    assert.equal(edge.elements['edge']?.edge?.registrar, 'sip:10.0.0.2:5060');
    const reg = loadConfig(resolve(ROOT, 'examples/registrar.yaml'));
    assert.deepEqual(Object.keys(reg.elements), ['registrar']);
    assert.equal(reg.elements['registrar']?.listen[0]?.address, '10.0.0.2');
  });
});
