import assert from 'node:assert/strict';
import { buildResponseBytes } from '../../../../src/message/build.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../../src/message/message.js';
import type { LocationStore } from '../../../../src/modules/location/binding.js';
import { MemoryLocationStore } from '../../../../src/modules/location/memory.js';
import {
  type RegistrarOptions,
  type RegistrarParams,
  registrarModule,
} from '../../../../src/modules/registrar/index.js';
import type { Script } from '../../../../src/script/api.js';
import { registrarScript } from '../../../../src/script/registrar.js';
import { ManualClock } from '../../../../src/util/clock.js';
import type { Logger } from '../../../../src/util/logger.js';
import { type Harness, harness, type Sent } from '../../../support/harness.js';

/** The edge proxy in front of the registrar (seed topology, outbound.md §0.1). */
export const EDGE = '127.0.0.11:5060';
/** A UA's address behind the edge. */
export const UA = '192.0.2.21:5070';
/** A caller sending INVITEs straight to the registrar. */
export const CALLER = '192.0.2.50:5060';
export const INSTANCE = '<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>';
export const INSTANCE2 = '<urn:uuid:00000000-0000-1000-8000-112233445566>';
/** Flow tokens the edge would put into Path (any opaque user part will do for the registrar). */
export const TOKEN1 = 'azxhTp9uJdIH3wF/AAALE8R/AAAVE84=';
export const TOKEN2 = 'bzxhTp9uJdIH3wF/AAALE8R/AAAVE85=';

/** The seed's Example 1.2 registrar parameters. */
export const SEED_PARAMS: RegistrarParams = { use_path: 1, gruu_enabled: 1, outbound_mode: 1 };

type StoreOp = 'get' | 'getByRuid' | 'apply' | 'removeAor';

/** A location store whose calls can be made to fail (store outage): a Proxy, so it follows the interface. */
export type FlakyStore = LocationStore & {
  /** Operations that reject while listed. */
  readonly failing: Set<StoreOp>;
  /** How often apply() was called. */
  readonly applyCalls: number;
};

/** Wraps a store so that listed operations reject (the backend is down). */
export function flaky(inner: LocationStore): FlakyStore {
  const failing = new Set<StoreOp>();
  let applyCalls = 0;
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'failing') return failing;
      if (prop === 'applyCalls') return applyCalls;
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      const fn = v as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        if (prop === 'apply') applyCalls++;
        if (failing.has(prop as StoreOp))
          return Promise.reject(new Error(`flaky store: ${String(prop)} failed (backend down)`));
        return fn.apply(target, args);
      };
    },
  }) as FlakyStore;
}

export interface RegistrarHarness {
  readonly h: Harness;
  /** The clock the server and the store share (advance it to expire bindings). */
  readonly clock: ManualClock;
  readonly store: FlakyStore;
  readonly memory: MemoryLocationStore;
  close(): Promise<void>;
}

/**
 * A registrar element over the harness: memory store (wrapped so it can fail), the given
 * registrar parameters, and by default the built-in registrar script.
 *
 * The clock is passed in as `clock` because the store needs it before the server exists;
 * `createServer` then uses it instead of the harness's own (see the report: `h.clock` is not the
 * server's clock when `clock` is passed).
 */
export async function setup(
  params: RegistrarParams = SEED_PARAMS,
  opts: { script?: Script; registrarOptions?: RegistrarOptions; logger?: Logger } = {},
): Promise<RegistrarHarness> {
  const clock = new ManualClock();
  const memory = new MemoryLocationStore({ clock });
  const store = flaky(memory);
  await store.open();
  let nonce = 0;
  const h = harness({
    clock,
    script: opts.script ?? registrarScript(),
    registrar: registrarModule(
      params,
      store,
      opts.registrarOptions ?? { newNonce: () => (++nonce).toString(16).padStart(16, '0') },
    ),
    location: store,
    aliases: ['example.com'],
    logger: opts.logger,
  });
  return {
    h,
    clock,
    store,
    memory,
    close: () => h.server.close(),
  };
}

let seq = 0;

/**
 * Restarts the numbering of {@link register} and {@link invite} (CSeq, branches, tags): a suite that
 * runs in several forms calls it per test, so that every form gets the same messages.
 */
export function resetMessageNumbers(): void {
  seq = 0;
}

export interface RegisterOpts {
  /** To/From user; default alice. */
  readonly user?: string;
  readonly domain?: string;
  readonly callId?: string;
  readonly cseq?: number;
  /** Contact header values (one header each); undefined: no Contact header. */
  readonly contact?: string | readonly string[] | undefined;
  readonly expires?: number | string;
  readonly supported?: string;
  readonly require?: string;
  /** Path header values (one header each). */
  readonly path?: string | readonly string[];
  /** Add the edge's Via above the UA's (the REGISTER crossed a proxy). Default: true when there is a Path. */
  readonly viaEdge?: boolean;
  readonly userAgent?: string;
  readonly extra?: readonly string[];
}

/** A REGISTER as the edge forwards it (or as a UA sends it directly without Path). */
export function register(o: RegisterOpts = {}): string {
  const n = ++seq;
  const user = o.user ?? 'alice';
  const domain = o.domain ?? 'example.com';
  const paths = o.path === undefined ? [] : typeof o.path === 'string' ? [o.path] : o.path;
  const viaEdge = o.viaEdge ?? paths.length > 0;
  const lines = ['REGISTER sip:example.com SIP/2.0'];
  if (viaEdge) lines.push(`Via: SIP/2.0/UDP 127.0.0.11;branch=z9hG4bK-edge-${n}`);
  lines.push(`Via: SIP/2.0/UDP ${UA};rport;branch=z9hG4bK-ua-${n}`);
  lines.push(
    'Max-Forwards: 69',
    `From: <sip:${user}@${domain}>;tag=from-${n}`,
    `To: <sip:${user}@${domain}>`,
    `Call-ID: ${o.callId ?? `reg-${user}-1`}`,
    `CSeq: ${o.cseq ?? n} REGISTER`,
  );
  const contacts =
    o.contact === undefined ? [] : typeof o.contact === 'string' ? [o.contact] : o.contact;
  for (const c of contacts) lines.push(`Contact: ${c}`);
  if (o.expires !== undefined) lines.push(`Expires: ${o.expires}`);
  if (o.supported !== undefined) lines.push(`Supported: ${o.supported}`);
  if (o.require !== undefined) lines.push(`Require: ${o.require}`);
  if (o.userAgent !== undefined) lines.push(`User-Agent: ${o.userAgent}`);
  for (const e of o.extra ?? []) lines.push(e);
  for (const p of paths) lines.push(`Path: ${p}`);
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}

/** An outbound Contact of the test UA: `<sip:alice@UA;ob>;reg-id=N;+sip.instance="…"`. */
export function obContact(
  regId: number,
  opts: { port?: number; instance?: string; user?: string; params?: string } = {},
): string {
  const port = opts.port ?? 5070;
  return `<sip:${opts.user ?? 'alice'}@192.0.2.21:${port};ob>;reg-id=${regId};+sip.instance="${opts.instance ?? INSTANCE}"${opts.params ?? ''}`;
}

/** The edge's Path value for a flow token. */
export function edgePath(token = TOKEN1): string {
  return `<sip:${token}@127.0.0.11;lr;ob>`;
}

/** An initial INVITE straight from a caller to the registrar. */
export function invite(
  ruri: string,
  o: { callId?: string; to?: string; method?: string } = {},
): string {
  const n = ++seq;
  const method = o.method ?? 'INVITE';
  return [
    `${method} ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${CALLER};branch=z9hG4bK-caller-${n}`,
    'Max-Forwards: 70',
    `From: <sip:bob@example.org>;tag=caller-${n}`,
    `To: <${o.to ?? ruri}>`,
    `Call-ID: ${o.callId ?? `call-${n}`}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:bob@${CALLER}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Injects a REGISTER from the edge (or from the UA with `from`), waits, and returns the single reply. */
export async function doRegister(
  r: RegistrarHarness,
  o: RegisterOpts = {},
  from = EDGE,
): Promise<SipResponse> {
  r.h.inject(register(o), from);
  await r.h.settle();
  const sent = r.h.take();
  const replies = sent.filter((s) => !s.msg.isRequest);
  assert.equal(
    replies.length,
    1,
    `exactly one reply expected, got:\n${sent.map((s) => s.msg.toString()).join('\n----\n')}`,
  );
  return replies[0]?.msg as SipResponse;
}

/** Responses among sent messages. */
export function responses(sent: readonly Sent[]): SipResponse[] {
  return sent.filter((s) => !s.msg.isRequest).map((s) => s.msg as SipResponse);
}

/** Requests among sent messages (optionally of one method). */
export function requests(sent: readonly Sent[], method?: string): (Sent & { msg: SipRequest })[] {
  return sent.filter(
    (s): s is Sent & { msg: SipRequest } =>
      s.msg.isRequest && (method === undefined || (s.msg as SipRequest).method === method),
  );
}

/** Answers a request the registrar sent (a branch) with `status`, as the edge would. */
export function answer(
  r: RegistrarHarness,
  req: SipRequest,
  status: number,
  reason?: string,
  from = EDGE,
): void {
  const bytes = buildResponseBytes(req, status, {
    reason,
    toTag: status > 100 ? `uas-${status}` : undefined,
  });
  r.h.inject(bytes, from);
}

/** The header names of a message in order (for exact header-set checks). */
export function headerNames(m: SipMessage): string[] {
  const out: string[] = [];
  for (let k = 0; k < m.headerCount; k++) out.push(m.headerNameAt(k));
  return out;
}

/** The Contact values of a reply, split. */
export function replyContacts(m: SipMessage): string[] {
  return m.getValues('Contact').map((v) => v.trim());
}
