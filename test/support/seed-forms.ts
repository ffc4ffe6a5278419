// The three forms the seed-behaviour conformance suites run in (issue 11, "one conformance suite,
// three forms"), like runLocationStoreSuite runs one suite against every store backend:
//   ts        the built-in TypeScript scripts (edgeProxyScript / registrarScript) in-process
//   cfg       the Kamailio test peer's edge.cfg / registrar.cfg (../shared/kamailio/*.cfg.in rendered
//             as kamailio.sh renders them), compiled by flowgate, in-process
//   kamailio  real Kamailio running the same files (kamailio.sh), over real sockets
// and a fourth, `ts-seed` (the built-in edge with seed_strict), which runs what the .cfg runs so
// that test/integration/cfg/wire-identity.test.ts can compare the two byte for byte.
//
// A suite's test talks to a Wire: inject a message as if sent from an address, take what the
// element sent. In-process a Wire is the harness (test/support/harness.ts); for Kamailio it is a set
// of loopback sockets behind an address translation, so that the same test text (addresses such as
// 192.0.2.7 or 127.0.0.2, Call-IDs, branches) runs unchanged: the harness addresses are mapped onto
// loopback addresses of a block of their own per test, and each test's Call-IDs and branches get a
// suffix of their own, so that a transaction a previous test left in Kamailio never answers this one.
// Not a test file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCfgConfig } from '../../src/config/cfg.js';
import { elementOptions, registrarParams } from '../../src/config/element.js';
import type { Config } from '../../src/config/types.js';
import type { SipMessage } from '../../src/message/message.js';
import { scanMessage } from '../../src/message/scanner.js';
import { MemoryLocationStore } from '../../src/modules/location/memory.js';
import type { OutboundParams } from '../../src/modules/outbound/index.js';
import {
  type RegistrarOptions,
  type RegistrarParams,
  registrarModule,
} from '../../src/modules/registrar/index.js';
import type { Script } from '../../src/script/api.js';
import { compileCfg } from '../../src/script/cfg/index.js';
import { edgeProxyScript } from '../../src/script/edge-proxy.js';
import { registrarScript } from '../../src/script/registrar.js';
import type { ServerOptions } from '../../src/server.js';
import type { Address, ListenerInfo, Proto } from '../../src/transport/types.js';
import { ManualClock } from '../../src/util/clock.js';
import type { Logger } from '../../src/util/logger.js';
import { noopLogger } from '../../src/util/logger.js';
import { renderPeerCfg } from '../integration/cfg/cfg-files.js';
import { type FlakyStore, flaky } from '../unit/modules/registrar/helpers.js';
import { type Harness, harness, listener } from './harness.js';
import { CapturingLogger } from './logger.js';
import { messageLength } from './net.js';

// ---------------------------------------------------------------------------------- forms

/** Where a seed-behaviour test runs. */
export type Form = 'ts' | 'ts-seed' | 'cfg' | 'kamailio';

/** How each form is named in test titles and skip messages. */
export const FORM_TITLE: Readonly<Record<Form, string>> = {
  ts: 'built-in TypeScript script',
  'ts-seed': 'built-in TypeScript script with seed_strict',
  cfg: 'the .cfg file in flowgate',
  kamailio: 'Kamailio running the .cfg file',
};

/**
 * The forms a test does not apply to, each with why. `ts-seed` follows `cfg` (it runs what the .cfg
 * runs, for the byte comparison).
 */
export type Except = Partial<Record<'ts' | 'cfg' | 'kamailio', string>>;

/** The skip message of a test in a form, or false when it runs there. */
export function skipFor(form: Form, except: Except | undefined): string | false {
  const f = form === 'ts-seed' ? 'cfg' : form;
  const why = except?.[f];
  return why === undefined ? false : `not in the form "${FORM_TITLE[form]}": ${why}`;
}

/** Reasons shared by the suites for leaving a form out. */
export const WHY = {
  /** A flowgate decision where the seed (the .cfg, Kamailio) does something else on purpose. */
  secureEdge:
    'asserts the built-in edge, which is not an open relay (issue 10, docs/kamailio-differences.md): the .cfg is the seed, which relays for anyone',
  ownScript: "runs a script of the test's own, not the seed's",
  key: 'needs the flow-token key: Kamailio draws a random one at each start (the seed sets no flow_token_secret)',
  state: "reads the element's state (location store, counters), which is not on the wire",
  params: "sets module parameters other than the file's; the running Kamailio has the file's only",
  ipv6: "the peer's edge.cfg listens on IPv4 only",
  listeners: "needs other listeners than the file's (the running Kamailio has the file's only)",
  modules:
    'changes module parameters (outbound), which the running Kamailio has from the file only',
  dns: 'an unresolvable $du would make Kamailio send a DNS query off the loopback',
  render:
    'renders the file with other #!subst addresses; the running Kamailio has the file as rendered for this suite',
} as const;

// ---------------------------------------------------------------------------------- wire

/** The socket a message left from. */
export interface WireListener {
  readonly id: number;
  readonly proto: Proto;
  readonly address: string;
  readonly port: number;
}

/** One message an element sent. */
export interface WireSent {
  readonly buf: Buffer;
  readonly msg: SipMessage;
  /** A flow id (`w0/c1`), or `w0/u<listener>/<ip:port>` for UDP, as the harness names them. */
  readonly to: string;
  readonly listener: WireListener;
  /** When it was sent (in-process: the manual clock at take()) or arrived (real), on the wire's clock. */
  readonly at?: number | undefined;
}

/** A test's view of one element: inject what peers send, take what the element sent. */
export interface Wire {
  readonly form: Form;
  /** The in-process element (undefined for Kamailio). */
  readonly harness: Harness | undefined;
  /** Sends `raw` as if from `from` (`ip:port`), over UDP or over the connection `flowId`. */
  inject(raw: string | Buffer, from: string, opts?: { flowId?: string; listenerId?: number }): void;
  /**
   * What the element sent since the last call. Over real sockets: waits for at least `expect`
   * messages (5 s at most), then until nothing more comes for a moment; `expect` 0 waits a moment.
   */
  take(expect?: number): Promise<WireSent[]>;
  /** A connection from `remote` to the element's listener `listenerId` (harness: simulated). */
  connect(proto: 'tcp', remote: Address, listenerId: number): Promise<{ readonly id: string }>;
  /** Ends a connection silently (harness: the flow is just gone; real: the socket is destroyed). */
  disconnect(id: string): Promise<void>;
  /** Lets `ms` pass: the manual clock in-process, real time for Kamailio. */
  advance(ms: number): Promise<void>;
  /** Milliseconds on the wire's clock. */
  now(): number;
  /** The address the element really sees for a harness address (the same in-process). */
  addressOf(ip: string): string;
  /** What the element logged since the wire was made (one line per entry; empty when unknown). */
  logged(): string;
}

/** Wire text with the values that differ run to run replaced (branch, tag, Call-ID, temp-GRUU). */
export function normalizeWire(buf: Buffer): string {
  return (
    buf
      .toString('latin1')
      .replace(/branch=z9hG4bK[^;,\s>]*/g, 'branch=z9hG4bK*')
      .replace(/;tag=[^;,\s>]*/g, ';tag=*')
      .replace(/^(Call-ID|i):.*$/gm, '$1: *')
      .replace(/temp-gruu="[^"]*"/g, 'temp-gruu="*"')
      // a temp-GRUU used as a URI (its ruid part is made from the time and a counter)
      .replace(/uloc-[0-9a-f]+-[0-9a-f]+-\d+-/g, 'uloc-*-')
  );
}

/** The harness as a Wire; `record` collects every message sent, normalized, in order. */
export function harnessWire(
  form: Form,
  h: Harness,
  record?: string[],
  logger?: CapturingLogger,
): Wire {
  return {
    form,
    harness: h,
    inject: (raw, from, opts) => h.inject(raw, from, opts),
    async take() {
      await h.settle();
      const at = h.clock.now();
      const out = h.take().map((s) => ({ ...s, at }));
      if (record !== undefined)
        for (const s of out) record.push(`-> ${s.to}\n${normalizeWire(s.buf)}`);
      return out;
    },
    async connect(proto, remote, listenerId) {
      return h.transport.connect(proto, remote, listenerId);
    },
    async disconnect(id) {
      h.transport.disconnect(id);
    },
    async advance(ms) {
      h.clock.advance(ms);
      await h.settle();
    },
    now: () => h.clock.now(),
    addressOf: (ip) => ip,
    logged: () => (logger?.lines ?? []).map((l) => `${l.level}: ${l.msg ?? ''}`).join('\n'),
  };
}

// ---------------------------------------------------------------------------------- .cfg files

/** The addresses the in-process forms render the peer's files with (the harness addresses). */
export const IN_PROCESS = {
  edge: { ip: '127.0.0.1', port: 5060, wsPort: 8080 },
  registrar: { ip: '127.0.0.2', port: 5060 },
} as const;

let cfgDir: string | undefined;
const configs = new Map<string, Config>();

/** A temporary directory for rendered files, removed when the process exits. */
function renderDir(): string {
  if (cfgDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'fg-seed-forms-'));
    cfgDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return cfgDir;
}

/**
 * The peer's `role`.cfg rendered with kamailio.sh's sed expressions and loaded by flowgate
 * (`loadCfgConfig`, as `flowgate start -c` does). `regIp` / `regPort` are what the edge relays to
 * (kamailio.sh's REG_IP / REG_PORT: the port may carry URI parameters, e.g. `5060;transport=tcp`);
 * `registrar` replaces the registrar's three seed modparams (see {@link registrarCfgWith}).
 */
export function peerConfig(
  role: 'edge' | 'registrar',
  o: { regIp?: string; regPort?: string | number; registrar?: RegistrarParams } = {},
): Config {
  const regIp = o.regIp ?? IN_PROCESS.registrar.ip;
  const regPort = String(o.regPort ?? IN_PROCESS.registrar.port);
  const key = `${role}|${regIp}|${regPort}|${JSON.stringify(o.registrar ?? null)}`;
  const known = configs.get(key);
  if (known !== undefined) return known;
  const dir = join(renderDir(), `c${configs.size}`);
  mkdirSync(dir, { recursive: true });
  const path = renderPeerCfg(
    role,
    {
      EDGE_IP: IN_PROCESS.edge.ip,
      EDGE_PORT: IN_PROCESS.edge.port,
      WS_PORT: IN_PROCESS.edge.wsPort,
      REG_IP: regIp,
      // kamailio.sh substitutes the text as it is: a port, or a port and URI parameters
      REG_PORT: regPort as unknown as number,
      DBTEXT_DIR: join(dir, 'dbtext'),
    },
    dir,
  );
  if (o.registrar !== undefined)
    writeFileSync(path, registrarCfgWith(o.registrar)(readFileSync(path, 'utf8')));
  const c = loadCfgConfig(path);
  mkdirSync(c.data_dir, { recursive: true });
  configs.set(key, c);
  return c;
}

/** The compiled script of a config's only element. */
export function cfgScript(c: Config): Script {
  const el = Object.values(c.elements)[0];
  if (el?.script.kind !== 'file' || el.script.compiled === undefined)
    throw new Error('no .cfg script');
  return el.script.compiled;
}

/** The name of a config's only element. */
function elementName(c: Config): string {
  const name = Object.keys(c.elements)[0];
  if (name === undefined) throw new Error('no element');
  return name;
}

/** A script compiled from .cfg text (a test's own configuration, for the cfg form). */
export function cfgScriptOf(text: string): Script {
  const files: Record<string, string> = { '/own/test.cfg': text };
  return compileCfg('/own/test.cfg', {
    reader: { read: (p) => files[p], display: (p) => p },
    env: {},
  }).script();
}

// ---------------------------------------------------------------------------------- edge targets

/** The flow-token settings the in-process edges share (a known key: tokens can be computed). */
export const EDGE_OUTBOUND: OutboundParams = {
  force_outbound_flag: -1,
  force_no_outbound_flag: -1,
  flow_token_secret: 'johndoessecretphrase',
};

/** What a test asks of the edge it runs against. */
export interface EdgeOptions {
  /** The seed's behaviour (the built-in script's `seed_strict`); the .cfg and Kamailio always are. */
  readonly seedStrict?: boolean | undefined;
  /** REGISTRAR_IP:REGISTRAR_PORT (a port may carry `;transport=tcp`); default 127.0.0.2:5060. */
  readonly registrar?: string | undefined;
  /** In-process listeners (default UDP+TCP 127.0.0.1:5060, WS 8080). */
  readonly listeners?: ListenerInfo[] | undefined;
  /** Outbound module parameters over {@link EDGE_OUTBOUND}. */
  readonly ob?: Partial<OutboundParams> | undefined;
  /** A script of the test's own: TypeScript for the ts forms, .cfg text for the cfg form. */
  readonly script?: { readonly ts: Script; readonly cfg: string } | undefined;
}

/** An edge in one form. */
export interface EdgeTarget {
  readonly form: Form;
  /** A fresh edge (in-process), or a fresh view of the running one (Kamailio). */
  edge(o?: EdgeOptions): Promise<Wire>;
  /** The flow-token key of the in-process edges (undefined for Kamailio). */
  readonly key: Buffer | undefined;
}

/** The in-process edge listeners of the suites: UDP and TCP on 127.0.0.1:5060, WS on 8080. */
export const edgeListeners = (): ListenerInfo[] => [
  listener(0, 'udp', IN_PROCESS.edge.ip, IN_PROCESS.edge.port),
  listener(1, 'tcp', IN_PROCESS.edge.ip, IN_PROCESS.edge.port),
  listener(2, 'ws', IN_PROCESS.edge.ip, IN_PROCESS.edge.wsPort),
];

function splitRegistrar(r: string): { ip: string; port: string } {
  const m = /^(\[[^\]]+\]|[^:;]+)(?::(.*))?$/.exec(r);
  if (m === null) throw new Error(`bad registrar ${r}`);
  return { ip: m[1] as string, port: m[2] ?? '5060' };
}

/** The edge in-process: the built-in script (`ts`, `ts-seed`) or the rendered edge.cfg (`cfg`). */
export function inProcessEdge(
  form: 'ts' | 'ts-seed' | 'cfg',
  opts: { record?: Map<string, string[]> | undefined; testName?: () => string } = {},
): EdgeTarget {
  const key = edgeHarness(form).server.outbound?.key;
  return {
    form,
    key,
    async edge(o) {
      const logger = new CapturingLogger();
      const h = edgeHarness(form, o, new ManualClock(), logger);
      let record: string[] | undefined;
      if (opts.record !== undefined && opts.testName !== undefined) {
        const name = opts.testName();
        record = opts.record.get(name) ?? [];
        opts.record.set(name, record);
      }
      return harnessWire(form, h, record, logger);
    },
  };
}

/**
 * The edge element in-process: the rendered edge.cfg's element settings, with the built-in script
 * (`ts`, `ts-seed`) or the file's (`cfg`), over the harness.
 */
export function edgeHarness(
  form: 'ts' | 'ts-seed' | 'cfg',
  o: EdgeOptions = {},
  clock = new ManualClock(),
  logger: Logger = noopLogger,
): Harness {
  return harness({
    ...edgeElementOptions(form, o, logger),
    clock,
    listeners: o.listeners ?? edgeListeners(),
  });
}

/**
 * The edge's `createServer` options without listeners: the rendered edge.cfg's element settings,
 * the built-in script (`ts`, `ts-seed`) or the file's (`cfg`), the outbound settings of the suites.
 */
export function edgeElementOptions(
  form: 'ts' | 'ts-seed' | 'cfg',
  o: EdgeOptions = {},
  logger: Logger = noopLogger,
): Omit<ServerOptions, 'listen'> & { listen: [] } {
  const registrar = o.registrar ?? `${IN_PROCESS.registrar.ip}:${IN_PROCESS.registrar.port}`;
  const { ip, port } = splitRegistrar(registrar);
  const c =
    o.registrar === undefined
      ? peerConfig('edge')
      : peerConfig('edge', { regIp: ip, regPort: port });
  let script: Script;
  if (o.script !== undefined) script = form === 'cfg' ? cfgScriptOf(o.script.cfg) : o.script.ts;
  else if (form === 'cfg') script = cfgScript(c);
  else
    script = edgeProxyScript({
      registrar: `sip:${registrar}`,
      flowTimer: 20,
      seedStrict: form === 'ts-seed' || o.seedStrict === true,
    });
  const { listen: _listen, ...el } = elementOptions(c, elementName(c), { script, logger });
  return { ...el, listen: [], script, outbound: { ...EDGE_OUTBOUND, ...o.ob } };
}

// ---------------------------------------------------------------------------------- registrar targets

/** The seed's Example 1.2 registrar parameters (the peer's registrar.cfg modparams). */
export const SEED_REGISTRAR_PARAMS: RegistrarParams = {
  use_path: 1,
  gruu_enabled: 1,
  outbound_mode: 1,
};

/** Kamailio's module of a registrar parameter (flowgate has use_domain / cseq_delay in usrloc). */
const USRLOC_PARAMS = new Set(['use_domain', 'cseq_delay']);

/**
 * registrar.cfg with its registrar modparams replaced by `params` (the seed's three lines become
 * one line per parameter given), so that the cfg form reads every parameter from the file.
 */
export function registrarCfgWith(params: RegistrarParams): (text: string) => string {
  return (text) => {
    const lines = Object.entries(params).map(
      ([k, v]) =>
        `modparam("${USRLOC_PARAMS.has(k) ? 'usrloc' : 'registrar'}", "${k}", ${typeof v === 'string' ? `"${v}"` : Number(v)})`,
    );
    const seed =
      /modparam\("registrar", "use_path", 1\)\nmodparam\("registrar", "gruu_enabled", 1\)\nmodparam\("registrar", "outbound_mode", 1\)\n/;
    if (!seed.test(text))
      throw new Error('registrar.cfg no longer has the seed registrar modparams');
    return text.replace(seed, `${lines.join('\n')}\n`);
  };
}

/** Same parameters (as the registrar reads them)? */
function sameParams(a: RegistrarParams, b: RegistrarParams): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return (
    ka.join() === kb.join() &&
    ka.every((k) => Number(a[k as keyof RegistrarParams]) === Number(b[k as keyof RegistrarParams]))
  );
}

/**
 * The element options of the registrar in-process: the peer's registrar.cfg (with `params` as its
 * registrar modparams) loaded as `flowgate start -c` loads it, and its script (`cfg`) or the
 * built-in registrar script (`ts`) in it. The registrar module is built from the file's parameters
 * over `store`.
 */
export function inProcessRegistrarOptions(
  form: 'ts' | 'ts-seed' | 'cfg',
  params: RegistrarParams,
  store: Parameters<typeof registrarModule>[1],
  regOptions: RegistrarOptions,
  logger?: Logger,
): Parameters<typeof harness>[0] & object {
  const c = sameParams(params, SEED_REGISTRAR_PARAMS)
    ? peerConfig('registrar')
    : peerConfig('registrar', { registrar: params });
  const el = Object.values(c.elements)[0];
  if (el === undefined) throw new Error('no element');
  const fromFile = registrarParams(el);
  if (fromFile === undefined) throw new Error('registrar.cfg loads no registrar');
  const script = form === 'cfg' ? cfgScript(c) : registrarScript();
  const { listen: _listen, ...opts } = elementOptions(c, el.name, {
    script,
    location: store,
    logger: logger ?? noopLogger,
  });
  return {
    ...opts,
    listen: [],
    script,
    registrar: registrarModule(fromFile, store, regOptions),
    location: store,
  };
}

// ---------------------------------------------------------------------------------- Kamailio over sockets

const IPV4 = /(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d])/g;

/** A socket of the element under test: its harness name (fake) and where it really is. */
export interface RealListener {
  readonly fake: WireListener;
  readonly real: Address;
}

/** Options of a {@link KamailioNet}. */
export interface KamailioNetOptions {
  /** First two octets of the loopback block (e.g. `127.62`): `<block>.0.x` fixed, `<block>.<n>.x` per test. */
  readonly block: string;
  /** Harness address -> real address of the element and its fixed peers (e.g. 127.0.0.2 -> 127.62.0.2). */
  readonly fixed: ReadonlyMap<string, string>;
  readonly listeners: readonly RealListener[];
  /** Fixed peer sockets (harness `ip:port`) bound for the whole suite (the registrar the edge relays to). */
  readonly peers?: readonly string[] | undefined;
  /** Harness `ip:port` UDP sockets every test has ready (destinations the element sends to on its own). */
  readonly perTest?: readonly string[] | undefined;
  /** Between tests (e.g. empty the registrar's location table). */
  readonly reset?: (() => Promise<void>) | undefined;
  /** The element's log so far (kamailio.sh's `<role>.log`). */
  readonly log?: (() => string) | undefined;
}

/**
 * Loopback sockets in front of a running Kamailio, giving each test a {@link Wire} that speaks the
 * harness's addresses. One test at a time.
 */
export class KamailioNet {
  readonly options: KamailioNetOptions;
  #n = 0;
  #current: RealWire | undefined;
  readonly #peerSockets = new Map<string, DgramSocket>();

  constructor(options: KamailioNetOptions) {
    this.options = options;
  }

  /** Binds the fixed peer sockets. */
  async open(): Promise<void> {
    for (const hp of this.options.peers ?? []) {
      const { ip, port } = hostPort(hp);
      const real = this.options.fixed.get(ip);
      if (real === undefined) throw new Error(`no real address for the peer ${hp}`);
      const s = await bindUdp(real, port);
      s.on('message', (b, rinfo) => this.#current?.received(b, rinfo, hp, s));
      this.#peerSockets.set(hp, s);
    }
  }

  /** A fresh view for one test (the previous one's sockets are closed). */
  async wire(): Promise<Wire> {
    await this.#current?.close();
    await this.options.reset?.();
    const n = ++this.#n;
    if (n > 250) throw new Error('KamailioNet: more than 250 tests');
    const w = new RealWire(this, n, (hp, b, to) => {
      const s = this.#peerSockets.get(hp);
      if (s === undefined) return false;
      s.send(b, to.port, to.address);
      return true;
    });
    this.#current = w;
    for (const hp of this.options.perTest ?? []) await w.bind(hp);
    return w;
  }

  async close(): Promise<void> {
    await this.#current?.close();
    this.#current = undefined;
    for (const s of this.#peerSockets.values()) await new Promise<void>((r) => s.close(() => r()));
    this.#peerSockets.clear();
  }
}

function hostPort(hp: string): { ip: string; port: number } {
  const i = hp.lastIndexOf(':');
  return { ip: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
}

function bindUdp(ip: string, port: number): Promise<DgramSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, ip, () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}

interface Conn {
  readonly socket: Socket;
  readonly listener: RealListener;
  data: Buffer;
}

class RealWire implements Wire {
  readonly form = 'kamailio' as const;
  readonly harness = undefined;
  readonly #net: KamailioNet;
  readonly #n: number;
  readonly #suffix: string;
  readonly #map = new Map<string, string>();
  readonly #rev = new Map<string, string>();
  #k = 0;
  readonly #udp = new Map<string, DgramSocket>();
  readonly #conns = new Map<string, Conn>();
  #c = 0;
  readonly #queue: WireSent[] = [];
  readonly #pending: Promise<unknown>[] = [];
  /** Branches Kamailio made (never suffixed on the way out). */
  readonly #theirBranches = new Set<string>();
  readonly #sendPeer: (hp: string, b: Buffer, to: Address) => boolean;
  readonly #t0 = Date.now();
  #lastAt = 0;
  #closed = false;

  constructor(
    net: KamailioNet,
    n: number,
    sendPeer: (hp: string, b: Buffer, to: Address) => boolean,
  ) {
    this.#net = net;
    this.#n = n;
    this.#suffix = `.k${n}`;
    this.#sendPeer = sendPeer;
    this.#logFrom = net.options.log?.().length ?? 0;
    for (const [a, b] of net.options.fixed) {
      this.#map.set(a, b);
      this.#rev.set(b, a);
    }
  }

  listener(id: number): RealListener {
    const l = this.#net.options.listeners.find((x) => x.fake.id === id);
    if (l === undefined) throw new Error(`no listener ${id}`);
    return l;
  }

  #real(ip: string): string {
    const known = this.#map.get(ip);
    if (known !== undefined) return known;
    if (++this.#k > 250) throw new Error('too many addresses in one test');
    const r = `${this.#net.options.block}.${this.#n}.${this.#k}`;
    this.#map.set(ip, r);
    this.#rev.set(r, ip);
    return r;
  }

  /** Harness text -> wire text. */
  #out(text: string): string {
    return text
      .replace(IPV4, (ip) => this.#real(ip))
      .replace(/^((?:Call-ID|i)[ \t]*:[ \t]*)(\S+)/gim, (_m, h: string, v: string) =>
        v.endsWith(this.#suffix) ? `${h}${v}` : `${h}${v}${this.#suffix}`,
      )
      .replace(/(;branch=)(z9hG4bK[^;,\s>]*)/gi, (m, p: string, b: string) =>
        this.#theirBranches.has(b) || b.endsWith(this.#suffix) ? m : `${p}${b}${this.#suffix}`,
      );
  }

  /** Wire text -> harness text; undefined when it belongs to another test. */
  #in(text: string): string | undefined {
    const cid = /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im.exec(text)?.[1];
    if (cid === undefined || !cid.endsWith(this.#suffix)) return undefined;
    return text
      .replace(IPV4, (ip) => this.#rev.get(ip) ?? ip)
      .replace(
        /^((?:Call-ID|i)[ \t]*:[ \t]*)(\S+)/gim,
        (_m, h: string, v: string) =>
          `${h}${v.endsWith(this.#suffix) ? v.slice(0, -this.#suffix.length) : v}`,
      )
      .replace(/(;branch=)(z9hG4bK[^;,\s>]*)/gi, (_m, p: string, b: string) => {
        if (b.endsWith(this.#suffix)) return `${p}${b.slice(0, -this.#suffix.length)}`;
        this.#theirBranches.add(b);
        return `${p}${b}`;
      });
  }

  /** Binds the socket of a harness `ip:port` of this test. */
  async bind(hp: string): Promise<DgramSocket> {
    const known = this.#udp.get(hp);
    if (known !== undefined) return known;
    const { ip, port } = hostPort(hp);
    const s = await bindUdp(this.#real(ip), port);
    s.on('message', (b, rinfo) => this.received(b, rinfo, hp, s));
    this.#udp.set(hp, s);
    return s;
  }

  /** The element's UDP listener a datagram came from. */
  #udpListener(address: string, port: number): WireListener {
    const l = this.#net.options.listeners.find(
      (x) => x.fake.proto === 'udp' && x.real.address === address && x.real.port === port,
    );
    return l?.fake ?? { id: -1, proto: 'udp', address: this.#rev.get(address) ?? address, port };
  }

  received(
    b: Buffer,
    rinfo: { address: string; port: number },
    toHp: string,
    socket: DgramSocket,
  ): void {
    if (this.#closed) return;
    ackNegative(b, rinfo, socket);
    const l = this.#udpListener(rinfo.address, rinfo.port);
    this.#push(b, `w0/u${l.id}/${toHp}`, l);
  }

  #push(b: Buffer, to: string, l: WireListener): void {
    if (b.length < 20 || b[0] === 0x00 || b[0] === 0x01) return; // STUN / keep-alives
    const text = this.#in(b.toString('latin1'));
    if (text === undefined) return;
    const buf = Buffer.from(text, 'latin1');
    const r = scanMessage(buf);
    if (!r.ok) throw new Error(`Kamailio sent an unparsable message: ${r.error.message}\n${text}`);
    this.#lastAt = Date.now();
    this.#queue.push({ buf, msg: r.msg, to, listener: l, at: this.#lastAt - this.#t0 });
  }

  inject(
    raw: string | Buffer,
    from: string,
    opts: { flowId?: string; listenerId?: number } = {},
  ): void {
    const text = typeof raw === 'string' ? raw.replace(/\r?\n/g, '\r\n') : raw.toString('latin1');
    const out = Buffer.from(this.#out(text), 'latin1');
    if (opts.flowId !== undefined) {
      const c = this.#conns.get(opts.flowId);
      if (c === undefined) throw new Error(`inject: no connection ${opts.flowId}`);
      c.socket.write(out);
      return;
    }
    const target = this.listener(opts.listenerId ?? 0).real;
    if (this.#sendPeer(from, out, target)) return;
    this.#pending.push(
      this.bind(from).then(
        (s) => new Promise<void>((r) => s.send(out, target.port, target.address, () => r())),
      ),
    );
  }

  async take(expect = 1): Promise<WireSent[]> {
    await Promise.all(this.#pending.splice(0));
    if (expect <= 0) {
      await sleep(400);
    } else {
      const end = Date.now() + 5000;
      while (this.#queue.length < expect && Date.now() < end) await sleep(10);
      // then until it has been quiet for a moment (a second message of the same step)
      for (;;) {
        const quiet = Date.now() - this.#lastAt;
        if (quiet >= 200) break;
        await sleep(200 - quiet);
      }
    }
    return this.#queue.splice(0);
  }

  async connect(_proto: 'tcp', remote: Address, listenerId: number): Promise<{ id: string }> {
    const l = this.listener(listenerId);
    const localAddress = this.#real(remote.address);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({
        host: l.real.address,
        port: l.real.port,
        localAddress,
        localPort: remote.port,
      });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', () => {});
        resolve(s);
      });
    });
    const id = `w0/c${++this.#c}`;
    const conn: Conn = { socket, listener: l, data: Buffer.alloc(0) };
    this.#conns.set(id, conn);
    socket.on('data', (b: Buffer) => {
      conn.data = Buffer.concat([conn.data, b]);
      for (;;) {
        const text = conn.data.toString('latin1');
        if (text.startsWith('\r\n')) {
          conn.data = conn.data.subarray(text.startsWith('\r\n\r\n') ? 4 : 2);
          continue;
        }
        const n = messageLength(text);
        if (n === 0) break;
        const msg = conn.data.subarray(0, n);
        conn.data = conn.data.subarray(n);
        if (!this.#closed) this.#push(Buffer.from(msg), id, l.fake);
      }
    });
    return { id };
  }

  async disconnect(id: string): Promise<void> {
    const c = this.#conns.get(id);
    this.#conns.delete(id);
    c?.socket.destroy();
    await sleep(100);
  }

  async advance(ms: number): Promise<void> {
    await sleep(ms);
  }

  now(): number {
    return Date.now() - this.#t0;
  }

  #logFrom = 0;

  logged(): string {
    return this.#net.options.log?.().slice(this.#logFrom) ?? '';
  }

  addressOf(ip: string): string {
    return this.#real(ip);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#pending.splice(0));
    for (const c of this.#conns.values()) c.socket.destroy();
    this.#conns.clear();
    for (const s of this.#udp.values()) await new Promise<void>((r) => s.close(() => r()));
    this.#udp.clear();
  }
}

/**
 * The ACK a UDP peer's transaction layer sends for a non-2xx final response to its INVITE
 * (RFC 3261 §17.1.1.3), so that the element stops retransmitting it (timer G) into later steps.
 */
function ackNegative(
  b: Buffer,
  rinfo: { address: string; port: number },
  socket: DgramSocket,
): void {
  const text = b.toString('latin1');
  const m = /^SIP\/2\.0 ([3-6]\d\d) /.exec(text);
  if (m === null) return;
  const head = text.slice(0, text.indexOf('\r\n\r\n') + 2);
  const h = (name: string): string | undefined =>
    new RegExp(`^${name}[ \t]*:[ \t]*(.*)\r$`, 'im').exec(head)?.[1];
  const cseq = /^(\d+)\s+INVITE$/i.exec(h('CSeq') ?? '');
  const via = h('Via') ?? h('v');
  const to = h('To') ?? h('t');
  if (cseq === null || via === undefined || to === undefined) return;
  const uri = /<([^>]+)>/.exec(to)?.[1] ?? to.split(';')[0] ?? '';
  const ack = [
    `ACK ${uri} SIP/2.0`,
    `Via: ${via.split(',')[0]}`,
    'Max-Forwards: 70',
    `From: ${h('From') ?? h('f')}`,
    `To: ${to}`,
    `Call-ID: ${h('Call-ID') ?? h('i')}`,
    `CSeq: ${cseq[1]} ACK`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  socket.send(Buffer.from(ack, 'latin1'), rinfo.port, rinfo.address);
}

// ---------------------------------------------------------------------------------- Kamailio helpers

/** Runs `kamcmd` on an instance's control socket. */
export function kamcmd(runDir: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'kamcmd',
      ['-s', `unix:${join(runDir, 'kamailio_ctl')}`, ...args],
      { timeout: 10_000, encoding: 'utf8' },
      (err, stdout, stderr) =>
        err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`)),
    );
  });
}

/** Removes every AoR from a Kamailio registrar's location table (between tests). */
export async function emptyLocation(runDir: string): Promise<void> {
  const dump = await kamcmd(runDir, 'ul.dump', 'brief');
  const aors = [...dump.matchAll(/^\s*AoR:\s*(\S+)\s*$/gm)].map((m) => m[1] as string);
  for (const aor of aors) await kamcmd(runDir, 'ul.rm', 'location', aor).catch(() => undefined);
  if (aors.length > 0) {
    const again = await kamcmd(runDir, 'ul.dump', 'brief');
    assert.doesNotMatch(again, /^\s*AoR:/m, 'the location table is empty between tests');
  }
}

// ---------------------------------------------------------------------------------- in-process registrar

/** A location store whose operations can be made to fail (test/unit/modules/registrar/helpers.ts). */

/**
 * The registrar in-process (the unit helpers' flaky memory store, deterministic temp-GRUU nonces):
 * the built-in registrar script (`ts`) or the rendered registrar.cfg (`cfg`), on UDP+TCP
 * 127.0.0.1:5060 with the file's element settings (alias example.com, tm and rr modparams).
 */
export function inProcessRegistrar(
  form: 'ts' | 'ts-seed' | 'cfg',
  opts: { record?: Map<string, string[]> | undefined; testName?: () => string } = {},
): {
  readonly form: Form;
  registrar(
    params?: RegistrarParams,
    o?: { script?: Script | undefined },
  ): Promise<{
    readonly h: Wire;
    readonly store: FlakyStore;
    readonly clock: ManualClock;
    close(): Promise<void>;
  }>;
} {
  return {
    form,
    async registrar(params = SEED_REGISTRAR_PARAMS, o = {}) {
      const clock = new ManualClock();
      const memory = new MemoryLocationStore({ clock });
      const store = flaky(memory);
      await store.open();
      let nonce = 0;
      const logger = new CapturingLogger();
      const el = inProcessRegistrarOptions(
        form,
        params,
        store,
        { newNonce: () => (++nonce).toString(16).padStart(16, '0') },
        logger,
      );
      const h = harness({ ...el, clock, ...(o.script === undefined ? {} : { script: o.script }) });
      let record: string[] | undefined;
      if (opts.record !== undefined && opts.testName !== undefined) {
        const name = opts.testName();
        record = opts.record.get(name) ?? [];
        opts.record.set(name, record);
      }
      return {
        h: harnessWire(form, h, record, logger),
        store,
        clock,
        close: () => h.server.close(),
      };
    },
  };
}

// ---------------------------------------------------------------------------------- edge + registrar

/**
 * The seed topology in-process: the edge (127.0.0.1:5060) relaying to the registrar
 * (127.0.0.2:5060), both in one form, one clock, messages between them carried at once. The Wire
 * injects into the edge (or, `from` 127.0.0.2:…, nothing else) and takes what either sent to anyone
 * else (a UA, a caller).
 */
export async function inProcessChain(
  form: 'ts' | 'ts-seed' | 'cfg',
): Promise<{ wire: Wire; close(): Promise<void> }> {
  const clock = new ManualClock();
  const E = edgeHarness(form, {}, clock);
  const memory = new MemoryLocationStore({ clock });
  const store = flaky(memory);
  await store.open();
  const R = harness({
    ...inProcessRegistrarOptions(form, SEED_REGISTRAR_PARAMS, store, {}),
    clock,
    listeners: [
      listener(0, 'udp', IN_PROCESS.registrar.ip, IN_PROCESS.registrar.port),
      listener(1, 'tcp', IN_PROCESS.registrar.ip, IN_PROCESS.registrar.port),
    ],
  });
  const toR = `/${IN_PROCESS.registrar.ip}:${IN_PROCESS.registrar.port}`;
  const toE = `/${IN_PROCESS.edge.ip}:${IN_PROCESS.edge.port}`;
  const out: WireSent[] = [];
  const pump = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) {
      await E.settle();
      await R.settle();
      let moved = false;
      for (const s of E.take()) {
        if (s.to.endsWith(toR)) {
          R.inject(s.buf, `${IN_PROCESS.edge.ip}:${IN_PROCESS.edge.port}`);
          moved = true;
        } else out.push({ ...s, at: clock.now() });
      }
      for (const s of R.take()) {
        if (s.to.endsWith(toE)) {
          E.inject(s.buf, `${IN_PROCESS.registrar.ip}:${IN_PROCESS.registrar.port}`);
          moved = true;
        } else out.push({ ...s, at: clock.now() });
      }
      if (!moved) return;
    }
  };
  const wire: Wire = {
    form,
    harness: E,
    inject: (raw, from, o) => E.inject(raw, from, o),
    async take() {
      await pump();
      return out.splice(0);
    },
    connect: async (proto, remote, listenerId) => E.transport.connect(proto, remote, listenerId),
    async disconnect(id) {
      E.transport.disconnect(id);
    },
    async advance(ms) {
      clock.advance(ms);
      await pump();
    },
    now: () => clock.now(),
    addressOf: (ip) => ip,
    logged: () => '',
  };
  return {
    wire,
    async close() {
      await E.server.close();
      await R.server.close();
    },
  };
}
