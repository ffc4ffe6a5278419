// Authenticated REGISTER load generator over UDP (issue 10), target-agnostic like
// ../shared/bench/bench.sh: works against any edge proxy + registrar that challenges REGISTER with
// 401 (flowgate, Kamailio auth_db, or the responder below).
//
//   node --import tsx bench/auth/client.ts HOST PORT [--users FILE] [--algorithm MD5|SHA-256]
//   node --import tsx bench/auth/client.ts --serve HOST:PORT [--users FILE]   instant responder
//   node --import tsx bench/auth/client.ts --self-test                         client capacity
//
// One call = REGISTER -> 401 -> REGISTER with Authorization -> 200, for the next user of the users
// file (`user;password` lines, round robin from a random first user; a user whose previous call
// is still running is skipped; when every user has a call running, new calls wait). Each user
// keeps one Call-ID with increasing CSeq (per run), one Contact at the client's socket with
// reg-id=1 and a +sip.instance derived from the user name (RFC 5626, like bench.sh's
// reg_bench.xml; stable across runs, so repeated runs refresh one binding), Expires 120. The digest response uses the challenge of the chosen algorithm
// (MD5 by default: Kamailio's db_text keeps MD5 HA1 only; SHA-256 for flowgate's figure), with
// qop=auth (nc=00000001, a fresh cnonce) when offered, else RFC 2069. HA1 is precomputed per user
// and HA2 once. A request is retransmitted after 500 ms, doubling up to 4 s (T1..T2, like sipp's
// retrans="500"); a request without a final response after 8 s fails its call. Latency: from the
// first REGISTER sent to the 200.
//
// Steps like bench.sh: RATES (calls/s), STEP_SECS each; a step passes iff every call succeeded and
// the achieved rate (successful calls / time from the step's start to its last call's end) is
// >= 95 % of the target; stop at the first failing step, then try the midpoint. One line per step,
// then `auth_register_rate=NNNN/s failed=0` (or `=0/s failed=<n>` when the first step fails).
// The step line reports the client's own CPU (% of one core) and CPU per call, so a saturated
// client shows itself.
//
// Env (flags override): RATES="500 1000 ..." STEP_SECS=5 DEADLINE=85 LOCAL_IP=127.0.61.61
//   LOCAL_PORT=5060 DOMAIN=example.com EXPIRES=120 USERS=<file> ALGORITHM=MD5 TIMEOUT_MS=8000
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// ------------------------------------------------------------------------------ options

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    users: { type: 'string' },
    algorithm: { type: 'string' },
    domain: { type: 'string' },
    'local-ip': { type: 'string' },
    'local-port': { type: 'string' },
    rates: { type: 'string' },
    'step-secs': { type: 'string' },
    deadline: { type: 'string' },
    expires: { type: 'string' },
    serve: { type: 'string' },
    qop: { type: 'string' },
    algorithms: { type: 'string' },
    'no-verify': { type: 'boolean' },
    'self-test': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

function setting(flag: string | undefined, env: string, dflt: string): string {
  return flag ?? process.env[env] ?? dflt;
}
function intSetting(flag: string | undefined, env: string, dflt: number): number {
  const v = Number(setting(flag, env, String(dflt)));
  if (!Number.isFinite(v) || v < 0) {
    console.error(`${env}: expected a number, got ${JSON.stringify(flag ?? process.env[env])}`);
    process.exit(2);
  }
  return v;
}

const DOMAIN = setting(opt.domain, 'DOMAIN', 'example.com');
const EXPIRES = intSetting(opt.expires, 'EXPIRES', 120);
const TIMEOUT_MS = intSetting(undefined, 'TIMEOUT_MS', 8000);
const T1 = 500;
const T2 = 4000;

type Alg = 'MD5' | 'SHA-256';
function parseAlg(s: string): Alg | undefined {
  const u = s.toUpperCase();
  return u === 'MD5' ? 'MD5' : u === 'SHA-256' ? 'SHA-256' : undefined;
}
function hashHex(alg: Alg, s: string): string {
  return createHash(alg === 'MD5' ? 'md5' : 'sha256')
    .update(s, 'latin1')
    .digest('hex');
}

interface User {
  readonly name: string;
  readonly password: string;
}

/** `user;password` lines (sipp injection style: a first line SEQUENTIAL/RANDOM/USER is skipped). */
function readUsers(file: string): User[] {
  const out: User[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || /^(SEQUENTIAL|RANDOM|USER)\b/.test(line)) continue;
    const i = line.indexOf(';');
    if (i <= 0) throw new Error(`${file}: expected user;password, got ${JSON.stringify(line)}`);
    out.push({ name: line.slice(0, i), password: line.slice(i + 1).split(';')[0] ?? '' });
  }
  if (out.length === 0) throw new Error(`${file}: no users`);
  return out;
}

function syntheticUsers(n: number): User[] {
  const out: User[] = [];
  for (let i = 1; i <= n; i++)
    out.push({ name: `st${String(i).padStart(5, '0')}`, password: `pw-${i}-self-test` });
  return out;
}

/** Percentile of a sorted array (nearest rank). */
function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k] as number;
}

const ms = (x: number): string => (Number.isNaN(x) ? 'n/a' : `${x.toFixed(2)}ms`);

/** Datagrams the kernel dropped because a UDP receive buffer was full (all sockets). */
function udpRcvbufErrors(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const h = (lines[0] ?? '').split(/\s+/);
    const v = (lines[1] ?? '').split(/\s+/);
    const i = h.indexOf('RcvbufErrors');
    return i < 0 ? 0 : Number(v[i] ?? 0);
  } catch {
    return 0;
  }
}

/** CPU seconds (utime + stime) of a process and its descendants, from /proc. */
function treeCpuSeconds(root: number): number {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'latin1');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      const pid = Number(d);
      const ppid = Number(f[1]);
      ticks.set(pid, Number(f[11]) + Number(f[12]));
      const c = children.get(ppid);
      if (c === undefined) children.set(ppid, [pid]);
      else c.push(pid);
    } catch {
      // the process ended meanwhile
    }
  }
  let t = 0;
  const todo = [root];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    t += ticks.get(p) ?? 0;
    for (const c of children.get(p) ?? []) todo.push(c);
  }
  return t / 100; // USER_HZ
}

// ------------------------------------------------------------------------------ responder

/**
 * An instant registrar for the self-test: 401 to a REGISTER without Authorization (one
 * WWW-Authenticate per algorithm, qop=auth, like flowgate's default), 200 to one with it (the
 * digest is checked when users are known: 403 when wrong).
 */
function serve(addr: string, users: User[] | undefined): void {
  const [host, portText] = splitHostPort(addr);
  const algs = (opt.algorithms ?? 'SHA-256,MD5').split(',').map((a) => {
    const x = parseAlg(a.trim());
    if (x === undefined) throw new Error(`--algorithms: unknown ${a}`);
    return x;
  });
  const qop = opt.qop ?? 'auth';
  const verify = users !== undefined && opt['no-verify'] !== true;
  const ha1 = new Map<string, { md5: string; sha: string }>();
  if (users !== undefined)
    for (const u of users)
      ha1.set(u.name, {
        md5: hashHex('MD5', `${u.name}:${DOMAIN}:${u.password}`),
        sha: hashHex('SHA-256', `${u.name}:${DOMAIN}:${u.password}`),
      });
  const ha2 = {
    md5: hashHex('MD5', `REGISTER:sip:${DOMAIN}`),
    sha: hashHex('SHA-256', `REGISTER:sip:${DOMAIN}`),
  };
  const noncePrefix = randomBytes(6).toString('hex');
  let nonceSeq = 0;
  let answered = 0;
  let refused = 0;
  const sock = dgram.createSocket({
    type: 'udp4',
    recvBufferSize: 4 << 20,
    sendBufferSize: 4 << 20,
  });
  const keep = /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i;
  sock.on('message', (b, rinfo) => {
    const s = b.toString('latin1');
    if (!s.startsWith('REGISTER ')) return;
    const end = s.indexOf('\r\n\r\n');
    const lines = s.slice(0, end < 0 ? s.length : end).split('\r\n');
    let head = '';
    let auth: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i] as string;
      if (keep.test(l)) head += /^(to|t)\s*:/i.test(l) ? `${l};tag=rsp\r\n` : `${l}\r\n`;
      else if (/^authorization\s*:/i.test(l)) auth = l.slice(l.indexOf(':') + 1).trim();
    }
    let out: string;
    if (auth === undefined) {
      const nonce = `${noncePrefix}${(nonceSeq++).toString(16)}`;
      let www = '';
      for (const a of algs)
        www += `WWW-Authenticate: Digest realm="${DOMAIN}", nonce="${nonce}"${qop === '' ? '' : `, qop="${qop}"`}, algorithm=${a}\r\n`;
      out = `SIP/2.0 401 Unauthorized\r\n${head}${www}Content-Length: 0\r\n\r\n`;
    } else {
      let ok = true;
      if (verify) {
        const p = digestParams(auth);
        const alg = parseAlg(p.get('algorithm') ?? 'MD5');
        const h = ha1.get(p.get('username') ?? '');
        if (alg === undefined || h === undefined) ok = false;
        else {
          const k1 = alg === 'MD5' ? h.md5 : h.sha;
          const k2 = alg === 'MD5' ? ha2.md5 : ha2.sha;
          const q = p.get('qop');
          const want =
            q === undefined
              ? hashHex(alg, `${k1}:${p.get('nonce')}:${k2}`)
              : hashHex(
                  alg,
                  `${k1}:${p.get('nonce')}:${p.get('nc')}:${p.get('cnonce')}:${q}:${k2}`,
                );
          ok = want === p.get('response');
        }
      }
      if (ok) {
        const contact = /\r\n(?:contact|m)\s*:\s*([^\r\n]*)/i.exec(s)?.[1] ?? '';
        out = `SIP/2.0 200 OK\r\n${head}Contact: ${contact};expires=${EXPIRES}\r\nRequire: outbound\r\nFlow-Timer: 20\r\nContent-Length: 0\r\n\r\n`;
      } else {
        refused++;
        out = `SIP/2.0 403 Forbidden\r\n${head}Content-Length: 0\r\n\r\n`;
      }
    }
    answered++;
    sock.send(Buffer.from(out, 'latin1'), rinfo.port, rinfo.address);
  });
  sock.on('error', (e) => {
    console.error(`responder: ${e.message}`);
    process.exit(1);
  });
  sock.bind(Number(portText), host, () => {
    console.log(`responder listening on ${host}:${portText} verify=${verify}`);
  });
  const bye = (): void => {
    console.log(`responder: answered=${answered} refused=${refused}`);
    sock.close();
    process.exit(0);
  };
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
}

/** `name=value` pairs of a Digest challenge or credentials (names lower-case). */
function digestParams(v: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let m = re.exec(v); m !== null; m = re.exec(v))
    out.set((m[1] as string).toLowerCase(), m[2] ?? m[3] ?? '');
  return out;
}

function splitHostPort(s: string): [string, string] {
  const i = s.lastIndexOf(':');
  if (i <= 0) throw new Error(`expected HOST:PORT, got ${s}`);
  return [s.slice(0, i), s.slice(i + 1)];
}

// ------------------------------------------------------------------------------ client

const IDLE = 0;
const WAIT_401 = 1;
const WAIT_200 = 2;
const SLOT_MS = 10;
const SLOTS = 2048; // 20 s of 10 ms slots: longer than TIMEOUT_MS

interface StepResult {
  readonly pass: boolean;
  readonly succ: number;
  readonly failed: number;
}

class Client {
  readonly #sock: dgram.Socket;
  readonly #n: number;
  readonly #alg: Alg;
  readonly #names: string[];
  readonly #passwords: string[];
  #ha1: string[];
  #ha1Realm: string;
  readonly #ha2: string;
  readonly #pre: string[] = []; // start of the request up to the branch's per-call part
  readonly #mid: string[] = []; // after the branch up to the CSeq number
  readonly #post: string[] = []; // after the CSeq number, headers common to both requests
  readonly #authPre: string[] = []; // `Authorization: Digest username="u", realm="`
  readonly #state: Uint8Array;
  readonly #cseq: Uint32Array;
  readonly #gen: Uint32Array;
  readonly #callStart: Float64Array;
  readonly #reqStart: Float64Array;
  readonly #interval: Uint32Array;
  readonly #pending: (Buffer | undefined)[];
  readonly #branchKey: Buffer;
  readonly #runTag: string;
  readonly #uri: string;
  #cnonceSeq = 0;
  #rr = 0;
  readonly #wheel: number[][] = [];
  #wheelPos: number;
  // per step
  #inFlight = 0;
  #succ = 0;
  #failed = 0;
  #retrans = 0;
  #stray = 0;
  #busy = 0;
  #lastEnd = 0;
  #lat: Float64Array = new Float64Array(0);
  #reasons = new Map<string, number>();

  constructor(sock: dgram.Socket, users: User[], alg: Alg, localIp: string, localPort: number) {
    this.#sock = sock;
    this.#n = users.length;
    this.#alg = alg;
    this.#names = users.map((u) => u.name);
    this.#passwords = users.map((u) => u.password);
    this.#ha1Realm = DOMAIN;
    this.#ha1 = this.#computeHa1(DOMAIN);
    this.#uri = `sip:${DOMAIN}`;
    this.#ha2 = hashHex(alg, `REGISTER:${this.#uri}`);
    this.#runTag = randomBytes(4).toString('hex');
    this.#branchKey = Buffer.from(`;branch=z9hG4bK${this.#runTag}x`, 'latin1');
    const n = this.#n;
    this.#state = new Uint8Array(n);
    this.#cseq = new Uint32Array(n);
    this.#gen = new Uint32Array(n);
    this.#callStart = new Float64Array(n);
    this.#reqStart = new Float64Array(n);
    this.#interval = new Uint32Array(n);
    this.#pending = new Array<Buffer | undefined>(n).fill(undefined);
    // a random first user: short runs one after the other (one per step) still cover every user
    this.#rr = randomInt(n);
    for (let i = 0; i < SLOTS; i++) this.#wheel.push([]);
    this.#wheelPos = Math.ceil(performance.now() / SLOT_MS);
    const hp = `${localIp}:${localPort}`;
    for (let u = 0; u < n; u++) {
      const name = users[u]?.name as string;
      // a stable instance per user: repeated runs refresh the same binding (max_contacts)
      const h = createHash('md5').update(`flowgate-auth-bench:${name}`).digest('hex');
      const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
      this.#pre.push(
        `REGISTER ${this.#uri} SIP/2.0\r\nVia: SIP/2.0/UDP ${hp};branch=z9hG4bK${this.#runTag}x${u}.`,
      );
      this.#mid.push(
        `;rport\r\nMax-Forwards: 70\r\nFrom: <sip:${name}@${DOMAIN}>;tag=${this.#runTag}${u}\r\n` +
          `To: <sip:${name}@${DOMAIN}>\r\nCall-ID: ${this.#runTag}-${u}@${localIp}\r\nCSeq: `,
      );
      this.#post.push(
        ` REGISTER\r\nContact: <sip:${name}@${hp};transport=udp>;reg-id=1;+sip.instance="<urn:uuid:${uuid}>"\r\n` +
          `Supported: path, outbound\r\nExpires: ${EXPIRES}\r\nUser-Agent: flowgate-auth-bench\r\n`,
      );
      this.#authPre.push(`Authorization: Digest username="${name}", realm="`);
    }
    sock.on('message', (b) => this.#onMessage(b));
  }

  #computeHa1(realm: string): string[] {
    return this.#names.map((n, i) => hashHex(this.#alg, `${n}:${realm}:${this.#passwords[i]}`));
  }

  #send(u: number, buf: Buffer, t: number): void {
    this.#pending[u] = buf;
    this.#reqStart[u] = t;
    this.#interval[u] = T1;
    const g = ((this.#gen[u] as number) + 1) >>> 0;
    this.#gen[u] = g;
    this.#schedule(t + T1, u, g);
    this.#sock.send(buf);
  }

  #schedule(at: number, u: number, g: number): void {
    const slot = Math.max(Math.ceil(at / SLOT_MS), this.#wheelPos);
    (this.#wheel[slot % SLOTS] as number[]).push(u, g);
  }

  /** Retransmissions and timeouts due by `t`. */
  runTimers(t: number): void {
    const last = Math.floor(t / SLOT_MS);
    while (this.#wheelPos <= last) {
      const idx = this.#wheelPos % SLOTS;
      const b = this.#wheel[idx] as number[];
      this.#wheelPos++;
      if (b.length === 0) continue;
      this.#wheel[idx] = [];
      for (let k = 0; k < b.length; k += 2) {
        const u = b[k] as number;
        if (this.#state[u] === IDLE || this.#gen[u] !== b[k + 1]) continue;
        const start = this.#reqStart[u] as number;
        if (t - start >= TIMEOUT_MS) {
          this.#fail(u, 'timeout', t);
          continue;
        }
        this.#sock.send(this.#pending[u] as Buffer);
        this.#retrans++;
        const iv = Math.min((this.#interval[u] as number) * 2, T2);
        this.#interval[u] = iv;
        this.#schedule(Math.min(t + iv, start + TIMEOUT_MS), u, b[k + 1] as number);
      }
    }
  }

  /**
   * Starts one call for the next idle user; false when every user has a call running (the call
   * waits for the next tick, so a target that answers slowly gets a lower achieved rate).
   */
  startCall(t: number): boolean {
    const n = this.#n;
    let u = this.#rr;
    let k = 0;
    while (this.#state[u] !== IDLE && k < n) {
      u = u + 1 === n ? 0 : u + 1;
      k++;
    }
    if (k === n) {
      this.#busy++;
      return false;
    }
    this.#rr = u + 1 === n ? 0 : u + 1;
    const c = (this.#cseq[u] as number) + 1;
    this.#cseq[u] = c;
    this.#state[u] = WAIT_401;
    this.#callStart[u] = t;
    this.#inFlight++;
    const msg = `${this.#pre[u]}${c}${this.#mid[u]}${c}${this.#post[u]}Content-Length: 0\r\n\r\n`;
    this.#send(u, Buffer.from(msg, 'latin1'), t);
    return true;
  }

  #onMessage(b: Buffer): void {
    // a response: "SIP/2.0 NNN "
    if (b.length < 12 || b[0] !== 0x53 || b[1] !== 0x49 || b[2] !== 0x50 || b[7] !== 0x20) return;
    const code =
      ((b[8] as number) - 48) * 100 + ((b[9] as number) - 48) * 10 + (b[10] as number) - 48;
    let i = b.indexOf(this.#branchKey);
    if (i < 0) {
      this.#stray++;
      return;
    }
    i += this.#branchKey.length;
    let u = 0;
    let c = 0;
    let ch = b[i] as number;
    while (ch >= 48 && ch <= 57) {
      u = u * 10 + ch - 48;
      ch = b[++i] as number;
    }
    if (ch !== 0x2e) {
      this.#stray++;
      return;
    }
    ch = b[++i] as number;
    while (ch >= 48 && ch <= 57) {
      c = c * 10 + ch - 48;
      ch = b[++i] as number;
    }
    if (u >= this.#n || this.#state[u] === IDLE || this.#cseq[u] !== c) {
      this.#stray++; // a late or duplicate answer
      return;
    }
    if (code < 200) return;
    const t = performance.now();
    if (this.#state[u] === WAIT_401) {
      if (code === 401) this.#answer(u, b, t);
      else this.#fail(u, code === 200 ? 'unchallenged-200' : String(code), t);
    } else if (code === 200) {
      this.#state[u] = IDLE;
      this.#pending[u] = undefined;
      this.#inFlight--;
      this.#lat[this.#succ++] = t - (this.#callStart[u] as number);
      this.#lastEnd = t;
    } else this.#fail(u, String(code), t);
  }

  /** Answers the 401 with the authorized REGISTER (CSeq + 1, same Call-ID). */
  #answer(u: number, b: Buffer, t: number): void {
    const s = b.toString('latin1');
    const re = /\r\nWWW-Authenticate[ \t]*:[ \t]*([^\r\n]*)/gi;
    let ch: Map<string, string> | undefined;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      const v = m[1] as string;
      if (!/^digest\s/i.test(v)) continue;
      const p = digestParams(v);
      if (parseAlg(p.get('algorithm') ?? 'MD5') === this.#alg) {
        ch = p;
        break;
      }
    }
    if (ch === undefined) {
      this.#fail(u, `no-${this.#alg}-challenge`, t);
      return;
    }
    const realm = ch.get('realm') ?? '';
    const nonce = ch.get('nonce') ?? '';
    if (realm !== this.#ha1Realm) {
      this.#ha1 = this.#computeHa1(realm);
      this.#ha1Realm = realm;
    }
    const qops = ch.get('qop');
    let auth: string;
    if (qops === undefined) {
      const r = hashHex(this.#alg, `${this.#ha1[u]}:${nonce}:${this.#ha2}`);
      auth = `${this.#authPre[u]}${realm}", nonce="${nonce}", uri="${this.#uri}", response="${r}", algorithm=${this.#alg}`;
    } else if (qops.split(',').some((q) => q.trim() === 'auth')) {
      const cnonce = `${this.#runTag}${(this.#cnonceSeq++).toString(16)}`;
      const r = hashHex(this.#alg, `${this.#ha1[u]}:${nonce}:00000001:${cnonce}:auth:${this.#ha2}`);
      auth = `${this.#authPre[u]}${realm}", nonce="${nonce}", uri="${this.#uri}", response="${r}", algorithm=${this.#alg}, cnonce="${cnonce}", qop=auth, nc=00000001`;
    } else {
      this.#fail(u, 'qop-unsupported', t);
      return;
    }
    const opaque = ch.get('opaque');
    if (opaque !== undefined) auth += `, opaque="${opaque}"`;
    const c = (this.#cseq[u] as number) + 1;
    this.#cseq[u] = c;
    this.#state[u] = WAIT_200;
    const msg = `${this.#pre[u]}${c}${this.#mid[u]}${c}${this.#post[u]}${auth}\r\nContent-Length: 0\r\n\r\n`;
    this.#send(u, Buffer.from(msg, 'latin1'), t);
  }

  #fail(u: number, reason: string, t: number): void {
    this.#state[u] = IDLE;
    this.#pending[u] = undefined;
    this.#inFlight--;
    this.#failed++;
    this.#lastEnd = t;
    this.#count(reason);
  }

  #count(reason: string): void {
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
  }

  /** One step at `rate` calls/s for `secs` seconds; prints its line. */
  async step(rate: number, secs: number, extra?: () => string): Promise<StepResult> {
    const m = Math.round(rate * secs);
    this.#succ = 0;
    this.#failed = 0;
    this.#retrans = 0;
    this.#stray = 0;
    this.#busy = 0;
    this.#reasons = new Map();
    this.#lat = new Float64Array(m);
    const drops0 = udpRcvbufErrors();
    const icmp0 = icmpRefused;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    this.#lastEnd = t0;
    let started = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const t = performance.now();
        const due = Math.min(m, Math.floor(((t - t0) * rate) / 1000) + 1);
        while (started < due && this.startCall(t)) started++;
        this.runTimers(t);
        if (started === m && this.#inFlight === 0) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    const cpu = process.cpuUsage(cpu0);
    const elapsed = (this.#lastEnd - t0) / 1000;
    const wall = (performance.now() - t0) / 1000;
    const achieved = elapsed > 0 ? this.#succ / elapsed : 0;
    const pass = this.#succ === m && this.#failed === 0 && achieved >= 0.95 * rate;
    const lat = this.#lat.subarray(0, this.#succ).sort();
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const reasons = [...this.#reasons].map(([k, v]) => `${k}:${v}`).join(',');
    console.log(
      `step rate=${rate}/s m=${m}: ${pass ? 'PASS' : 'FAIL'} succ=${this.#succ} failed=${this.#failed}` +
        ` retrans=${this.#retrans} achieved=${achieved.toFixed(0)}/s elapsed=${elapsed.toFixed(2)}s` +
        ` p50=${ms(pct(lat, 50))} p99=${ms(pct(lat, 99))}` +
        ` client_cpu=${((100 * cpuS) / wall).toFixed(0)}% client_us_per_call=${m > 0 ? ((cpuS * 1e6) / m).toFixed(1) : 0}` +
        ` udp_drops=${udpRcvbufErrors() - drops0}${this.#stray > 0 ? ` stray=${this.#stray}` : ''}` +
        `${icmpRefused > icmp0 ? ` icmp_refused=${icmpRefused - icmp0}` : ''}` +
        `${this.#busy > 0 ? ` all_users_busy=${this.#busy}` : ''}` +
        `${reasons === '' ? '' : ` reasons=${reasons}`}${extra === undefined ? '' : ` ${extra()}`}`,
    );
    return { pass, succ: this.#succ, failed: this.#failed };
  }
}

/** ICMP port-unreachable reports on the client socket (ECONNREFUSED), over the whole run. */
let icmpRefused = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The bench.sh ramp against one target; returns the best passing rate. */
async function ramp(
  client: Client,
  rates: number[],
  stepSecs: number,
  deadline: number,
  label: string,
  extra?: () => string,
): Promise<void> {
  const tStart = performance.now();
  const elapsed = (): number => (performance.now() - tStart) / 1000;
  let best = 0;
  let firstFail: number | undefined;
  let lastFailed = 0;
  for (const r of rates) {
    if (elapsed() + stepSecs + 6 > deadline) {
      console.log(`deadline: skipping rate ${r}`);
      break;
    }
    const res = await client.step(r, stepSecs, extra);
    if (res.pass) best = r;
    else {
      firstFail = r;
      lastFailed = res.failed > 0 ? res.failed : Math.round(r * stepSecs) - res.succ;
      break;
    }
    await sleep(1000);
  }
  if (firstFail !== undefined && best > 0) {
    const mid = Math.floor((best + firstFail) / 2 / 50) * 50;
    if (mid > best && elapsed() + stepSecs + 8 <= deadline) {
      await sleep(2000);
      const res = await client.step(mid, stepSecs, extra);
      if (res.pass) best = mid;
    }
  }
  console.log(
    `${label}: best passing step=${best}/s first failing step=${firstFail === undefined ? 'none' : `${firstFail}/s`} total_time=${elapsed().toFixed(0)}s`,
  );
  console.log(
    best > 0
      ? `auth_register_rate=${best}/s failed=0`
      : `auth_register_rate=0/s failed=${lastFailed}`,
  );
}

async function openSocket(localIp: string, localPort: number): Promise<dgram.Socket> {
  const sock = dgram.createSocket({
    type: 'udp4',
    recvBufferSize: 4 << 20,
    sendBufferSize: 4 << 20,
  });
  sock.on('error', (e: NodeJS.ErrnoException) => {
    // the connected socket reports ICMP port unreachable (nothing listens yet, or a restart):
    // the calls time out and are counted; anything else is fatal
    if (e.code === 'ECONNREFUSED') {
      icmpRefused++;
      return;
    }
    console.error(`client socket: ${e.message}`);
    process.exit(1);
  });
  await new Promise<void>((resolve) => sock.bind(localPort, localIp, resolve));
  return sock;
}

async function connect(sock: dgram.Socket, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve) => sock.connect(port, host, resolve));
}

function parseRates(s: string): number[] {
  const r = s
    .trim()
    .split(/[\s,]+/)
    .map(Number)
    .filter((x) => x > 0);
  if (r.length === 0) throw new Error(`RATES: no rate in ${JSON.stringify(s)}`);
  return r;
}

async function runClient(host: string, port: number): Promise<void> {
  const usersFile = opt.users ?? process.env['USERS'];
  if (usersFile === undefined) {
    console.error(
      'no users: --users FILE or USERS=FILE (user;password lines, bench/auth/users.ts)',
    );
    process.exit(2);
  }
  const users = readUsers(usersFile);
  const alg = parseAlg(setting(opt.algorithm, 'ALGORITHM', 'MD5'));
  if (alg === undefined) {
    console.error('--algorithm: MD5 or SHA-256');
    process.exit(2);
  }
  const localIp = setting(opt['local-ip'], 'LOCAL_IP', '127.0.61.61');
  const localPort = intSetting(opt['local-port'], 'LOCAL_PORT', 5060);
  const rates = parseRates(
    setting(opt.rates, 'RATES', '500 1000 1500 2000 2500 3000 3500 4000 5000 6000 7000 8000 10000'),
  );
  const stepSecs = intSetting(opt['step-secs'], 'STEP_SECS', 5);
  const deadline = intSetting(opt.deadline, 'DEADLINE', 85);
  const sock = await openSocket(localIp, localPort);
  await connect(sock, host, port);
  const client = new Client(sock, users, alg, localIp, sock.address().port);
  console.log(
    `authbench: target=${host}:${port} udp local=${localIp}:${sock.address().port} users=${users.length} algorithm=${alg} step=${stepSecs}s deadline=${deadline}s rates: ${rates.join(' ')}`,
  );
  await ramp(client, rates, stepSecs, deadline, 'authbench');
  sock.close();
}

/** The client against the instant responder in a child process: what one client core sustains. */
async function selfTest(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'authbench-'));
  const usersFile = opt.users ?? join(dir, 'users.txt');
  if (opt.users === undefined)
    writeFileSync(
      usersFile,
      syntheticUsers(intSetting(undefined, 'SELFTEST_USERS', 10000))
        .map((u) => `${u.name};${u.password}\n`)
        .join(''),
    );
  const users = readUsers(usersFile);
  const alg = parseAlg(setting(opt.algorithm, 'ALGORITHM', 'MD5')) ?? 'MD5';
  const addr = process.env['RESPONDER'] ?? '127.0.61.98:5060';
  const [host, portText] = splitHostPort(addr);
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      self,
      '--serve',
      addr,
      '--users',
      usersFile,
      ...(opt['no-verify'] ? ['--no-verify'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stopChild = (): void => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.on('exit', stopChild);
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('listening')) resolve();
      process.stdout.write(d);
    });
    child.once('exit', (c) => reject(new Error(`responder exited (${c})`)));
  });
  const localIp = setting(opt['local-ip'], 'LOCAL_IP', '127.0.61.97');
  const sock = await openSocket(localIp, intSetting(opt['local-port'], 'LOCAL_PORT', 5060));
  await connect(sock, host, Number(portText));
  const client = new Client(sock, users, alg, localIp, sock.address().port);
  const rates = parseRates(setting(opt.rates, 'RATES', '5000 10000 15000 20000 25000 30000'));
  const stepSecs = intSetting(opt['step-secs'], 'STEP_SECS', 4);
  console.log(
    `authbench self-test: responder ${addr} (pid ${child.pid}), client ${localIp}, users=${users.length} algorithm=${alg} step=${stepSecs}s rates: ${rates.join(' ')}`,
  );
  const pid = child.pid ?? 0;
  let r0 = treeCpuSeconds(pid);
  let w0 = performance.now();
  await client.step(Math.min(1000, rates[0] ?? 1000), 1, () => 'warm-up');
  const extra = (): string => {
    const r1 = treeCpuSeconds(pid);
    const w1 = performance.now();
    const s = `responder_cpu=${((100 * (r1 - r0)) / ((w1 - w0) / 1000)).toFixed(0)}%`;
    r0 = r1;
    w0 = w1;
    return s;
  };
  r0 = treeCpuSeconds(pid);
  w0 = performance.now();
  await ramp(
    client,
    rates,
    stepSecs,
    intSetting(opt.deadline, 'DEADLINE', 120),
    'self-test',
    extra,
  );
  sock.close();
  stopChild();
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

if (opt.help === true) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0] ?? '';
  console.log(text.replace(/^\/\/ ?/gm, ''));
} else if (opt.serve !== undefined) {
  serve(opt.serve, opt.users === undefined ? undefined : readUsers(opt.users));
} else if (opt['self-test'] === true) {
  await selfTest();
} else {
  const [h, p] = positionals.length >= 2 ? positionals : splitHostPort(positionals[0] ?? '');
  if (h === undefined || p === undefined || h === '') {
    console.error('usage: client.ts HOST PORT | --serve HOST:PORT | --self-test   (--help)');
    process.exit(2);
  }
  await runClient(h, Number(p));
}
