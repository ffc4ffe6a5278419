import type { Binding, LocationStore } from '../../modules/location/binding.js';
import type { DecodeResult } from '../../modules/outbound/flow-token.js';
import type { ClientTransaction } from '../../transaction/client.js';
import type { ServerTransaction } from '../../transaction/server.js';
import { canonicalIp } from '../../transport/ip.js';
import type { FlowInfo, SendTarget } from '../../transport/types.js';
import { storesOf } from '../select.js';
import { flowsOf, type ManagedElement } from '../view.js';
import type {
  ConsoleBinding,
  ConsoleElement,
  ConsoleFlow,
  ConsoleState,
  ConsoleTransaction,
  ConsoleView,
  FlowBindingRef,
  Listed,
  PathTokenJson,
} from './types.js';

/** How much one state holds. */
export interface SnapshotLimits {
  /** Rows per list the page gets (flows, bindings, transactions). */
  readonly rows: number;
  /**
   * Bindings read from each store per state: the search and the "bindings on this flow" column
   * see these (plus an exact AoR lookup of the search), not a store of millions.
   */
  readonly scan: number;
}

/** Defaults: 100 rows, 2000 bindings scanned. */
export const DEFAULT_LIMITS: SnapshotLimits = { rows: 100, scan: 2000 };

/** Bindings listed under one flow (a trunk or a NAT can carry thousands: they are counted). */
const REFS_PER_FLOW = 10;

/** What the console reads of an element beyond {@link ManagedElement} (present on a `FlowgateServer`). */
interface ElementExtras {
  readonly outbound?: { decode(user: string | undefined): DecodeResult } | undefined;
  readonly layer: { pending?(limit: number): (ServerTransaction | ClientTransaction)[] };
  readonly transport: { getFlow?(id: string): FlowInfo | undefined };
}

function extras(e: ManagedElement): ElementExtras {
  return e.server as unknown as ElementExtras;
}

function hostPort(address: string, port: number): string {
  const a = canonicalIp(address).toLowerCase();
  return a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`;
}

/** The user part of a SIP URI in a Path entry (`<sip:TOKEN@host;lr;ob>`). */
function pathUser(entry: string): string | undefined {
  const m = /sips?:([^@;>]+)@/i.exec(entry);
  return m?.[1];
}

/** The URI part of a header value (`"Alice" <sip:a@x>;tag=1` -> `sip:a@x`). */
function uriOf(value: string | undefined): string | null {
  if (value === undefined) return null;
  const m = /<([^>]*)>/.exec(value);
  return (m?.[1] ?? value.split(';')[0] ?? '').trim() || null;
}

/** A Path entry's flow token as the console shows it, and the key of the flow it names. */
export interface DecodedPath {
  readonly info: Omit<PathTokenJson, 'uri' | 'flow'>;
  /** `edge|transport|local|remote` of a valid token (matched against the edges' flows). */
  readonly key: string | undefined;
}

/**
 * Decodes flow tokens of Path entries with the keys of this process's edges, remembering the
 * answers (a binding's Path does not change between states; the HMAC is the expensive part).
 */
export class PathDecoder {
  readonly #cache = new Map<string, DecodedPath>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  decode(entry: string, edges: readonly ManagedElement[]): DecodedPath {
    const hit = this.#cache.get(entry);
    if (hit !== undefined) return hit;
    const info = this.#decode(entry, edges);
    const out: DecodedPath = {
      info,
      key:
        info.token === 'valid'
          ? `${info.edge}|${info.transport}|${info.local}|${info.remote}`
          : undefined,
    };
    if (this.#cache.size >= this.#max) this.#cache.clear();
    this.#cache.set(entry, out);
    return out;
  }

  #decode(entry: string, edges: readonly ManagedElement[]): Omit<PathTokenJson, 'uri' | 'flow'> {
    const user = pathUser(entry);
    if (user === undefined) return { token: 'none' };
    if (edges.length === 0) return { token: 'unknown' };
    let notToken = true;
    for (const e of edges) {
      const d = extras(e).outbound?.decode(user);
      if (d === undefined) continue;
      if (d.ok) {
        const t = d.token;
        return {
          token: 'valid',
          edge: e.server.name,
          transport: t.proto,
          local: hostPort(t.local.address, t.local.port),
          remote: hostPort(t.remote.address, t.remote.port),
        };
      }
      // RFC 5626 §5.2 / outbound.md §1.3.6: -2 not a token, -1 a token whose MAC fails
      if (d.code === -1) notToken = false;
    }
    return { token: notToken ? 'none' : 'broken' };
  }
}

/**
 * Turns an element clock's monotonic times into wall-clock epoch ms with one offset per clock,
 * kept while it holds (within a second), so that a flow's `opened_at` reads the same in every
 * state and an unchanged edge pushes nothing.
 */
export class WallClock {
  readonly #offsets = new Map<object, number>();

  /** What to add to `clock`'s monotonic times to get wall-clock epoch ms. */
  offset(clock: { now(): number }): number {
    const fresh = Math.round(Date.now() - clock.now());
    const kept = this.#offsets.get(clock);
    if (kept !== undefined && Math.abs(kept - fresh) < 1000) return kept;
    this.#offsets.set(clock, fresh);
    return fresh;
  }
}

/** Case-insensitive substring search over a row's fields. */
function matches(q: string, fields: readonly (string | null | undefined)[]): boolean {
  if (q === '') return true;
  for (const f of fields) if (f?.toLowerCase().includes(q)) return true;
  return false;
}

function listed<T>(rows: T[], limit: number, total: number | null, more = false): Listed<T> {
  return {
    rows: rows.length > limit ? rows.slice(0, limit) : rows,
    total,
    truncated:
      more || rows.length > limit || (total !== null && total > Math.min(rows.length, limit)),
  };
}

async function scanStore(
  loc: LocationStore,
  max: number,
): Promise<{ bindings: Binding[]; complete: boolean }> {
  const out: Binding[] = [];
  let cursor: string | undefined;
  do {
    const page = await loc.list(cursor, Math.min(500, max - out.length));
    out.push(...page.bindings);
    cursor = page.next;
  } while (cursor !== undefined && out.length < max);
  return { bindings: out, complete: cursor === undefined };
}

/**
 * What the console shows, for one search: flows (with the bindings each one carries), bindings
 * (with their Path's flow tokens decoded), transactions in progress, and the elements' counters.
 * `query` matches, case-insensitively, any part of an AoR, contact, instance, address (`ip:port`)
 * or Call-ID; an AoR typed in full is also looked up in the store directly.
 */
export async function buildState(
  elements: readonly ManagedElement[],
  query: string,
  version: string,
  decoder: PathDecoder,
  limits: SnapshotLimits = DEFAULT_LIMITS,
  wallClock: WallClock = new WallClock(),
  view: ConsoleView = 'all',
): Promise<ConsoleState> {
  const q = query.trim().toLowerCase();
  // a page gets the list it shows (and every list's total); a search fills every list
  const all = view === 'all' || q !== '';
  const wantFlows = all || view === 'flows';
  const wantBindings = all || view === 'bindings';
  const wantTx = all || view === 'transactions';
  // what each flow carries needs every binding (up to the scan limit); the bindings view alone
  // needs only its first rows
  const errors: string[] = [];
  const wall = Date.now();
  const edges = elements.filter((e) => extras(e).outbound !== undefined);

  // ---- flows, indexed by what a flow token names and by id
  type FlowRow = ConsoleFlow & { bindings: FlowBindingRef[]; binding_count: number };
  const flowRows: FlowRow[] = [];
  const byToken = new Map<string, FlowRow>();
  const byId = new Map<string, FlowRow>();
  for (const e of elements) {
    const offset = wallClock.offset(e.server.core.clock);
    const toWall = (t: number): number => Math.round(t + offset);
    for (const f of flowsOf(e)) {
      const local = hostPort(f.local.address, f.local.port);
      const peer = hostPort(f.remote.address, f.remote.port);
      const row = {
        element: e.server.name,
        id: f.id,
        transport: f.proto,
        local,
        peer,
        state: f.state,
        outgoing: f.outgoing,
        opened_at: toWall(f.openedAt),
        last_activity_at: toWall(f.lastActivity),
        last_keepalive_at: f.lastKeepalive === undefined ? null : toWall(f.lastKeepalive),
        bindings: [] as FlowBindingRef[],
        binding_count: 0,
      };
      flowRows.push(row);
      byToken.set(`${e.server.name}|${f.proto}|${local}|${peer}`, row);
      byId.set(`${e.server.name}|${f.id}`, row);
    }
  }

  // ---- bindings: a scan of each store (for what each flow carries, and for the search), plus the
  // AoR typed in the search; rows are made only for the bindings shown
  const bindingRows: ConsoleBinding[] = [];
  let bindingTotal: number | null = 0;
  let matched = 0;
  let scannedAll = true;
  // every store once (elements may share one), with the first element that uses it
  for (const e of storesOf(elements, undefined)) {
    const loc = e.location as LocationStore;
    const name = e.server.name;
    let found: Binding[] = [];
    try {
      if (wantFlows) {
        const s = await scanStore(loc, limits.scan);
        found = s.bindings;
        if (!s.complete) scannedAll = false;
      } else if (wantBindings && bindingRows.length <= limits.rows)
        found = (await loc.list(undefined, limits.rows + 1 - bindingRows.length)).bindings;
      if (q !== '') {
        const key = e.aorKey?.(query.trim());
        if (key !== undefined) {
          const have = new Set(found.map((b) => b.ruid));
          for (const b of await loc.get(key)) if (!have.has(b.ruid)) found.push(b);
        }
      }
      if (bindingTotal !== null) bindingTotal += await loc.count();
    } catch (err) {
      errors.push(`${name}: location store: ${err instanceof Error ? err.message : String(err)}`);
      bindingTotal = null;
      continue;
    }
    for (const b of found) {
      const decoded = b.path.map((uri) => decoder.decode(uri, edges));
      // the flow(s) that carry it: the edge's flow its token names, or the registrar's own flow
      const carriers: FlowRow[] = [];
      for (const d of decoded) {
        const f = d.key === undefined ? undefined : byToken.get(d.key);
        if (f !== undefined && !carriers.includes(f)) carriers.push(f);
      }
      if (b.path.length === 0 && b.flowId !== undefined) {
        const f = byId.get(`${name}|${b.flowId}`);
        if (f !== undefined) carriers.push(f);
      }
      for (const f of carriers) {
        f.binding_count++;
        if (f.bindings.length < REFS_PER_FLOW)
          f.bindings.push({ element: name, aor: b.aor, ruid: b.ruid });
      }
      if (
        q !== '' &&
        !matches(q, [
          b.aor,
          b.contact,
          b.instance,
          b.received,
          b.userAgent,
          ...b.path,
          ...decoded.map((d) => d.info.remote),
        ])
      )
        continue;
      matched++;
      // one more than shown says that there are more
      if (bindingRows.length > limits.rows) continue;
      bindingRows.push({
        element: name,
        aor: b.aor,
        ruid: b.ruid,
        contact: b.contact,
        expires_at: b.expires,
        reg_id: b.regId,
        instance: b.instance ?? null,
        received: b.received ?? null,
        user_agent: b.userAgent ?? null,
        q: b.q === undefined ? null : b.q / 1000,
        flow: b.flowId ?? null,
        path: b.path.map((uri, i) => {
          const d = decoded[i] as DecodedPath;
          if (d.key === undefined) return { uri, ...d.info };
          return { uri, ...d.info, flow: byToken.get(d.key)?.id ?? null };
        }),
      });
    }
  }

  const flowsShown = flowRows.filter((f) =>
    matches(q, [f.peer, f.local, f.id, ...f.bindings.map((b) => b.aor)]),
  );

  // ---- transactions waiting for a final response
  const txRows: ConsoleTransaction[] = [];
  let txTotal = 0;
  for (const e of elements) {
    const x = extras(e);
    const layer = x.layer;
    txTotal += (layer as { pendingCount?: number }).pendingCount ?? 0;
    if (!wantTx || typeof layer.pending !== 'function') continue;
    const offset = wallClock.offset(e.server.core.clock);
    for (const t of layer.pending(limits.rows + 1)) {
      const server = t.kind === 'ist' || t.kind === 'nist';
      const req = server
        ? (t as ServerTransaction).request
        : (t as ClientTransaction).parsedRequest;
      let peer: string | null = null;
      if (server) {
        const i = (t as ServerTransaction).info;
        peer = `${i.proto} ${hostPort(i.remote.address, i.remote.port)}`;
      } else {
        const target: SendTarget = (t as ClientTransaction).target;
        if ('flowId' in target) {
          const f = x.transport.getFlow?.(target.flowId);
          peer = f === undefined ? null : `${f.proto} ${hostPort(f.remote.address, f.remote.port)}`;
        } else peer = `${target.proto} ${hostPort(target.address, target.port)}`;
      }
      txRows.push({
        element: e.server.name,
        kind: t.kind,
        method: t.method,
        state: t.state,
        status: t.lastStatus,
        ruri: req?.uri ?? null,
        from: uriOf(req?.getHeader('From')),
        to: uriOf(req?.getHeader('To')),
        call_id: req?.callId ?? null,
        peer,
        started_at: Math.round(t.createdAt + offset),
      });
    }
  }
  const txShown = txRows
    .filter((t) => matches(q, [t.from, t.to, t.ruri, t.call_id, t.peer]))
    .sort((a, b) => a.started_at - b.started_at);

  const elementRows: ConsoleElement[] = elements.map((e) => ({
    name: e.server.name,
    script: e.script,
    registrar: e.location !== undefined,
    edge: extras(e).outbound !== undefined,
  }));

  return {
    at: wall,
    version,
    query: query.trim(),
    view,
    elements: elementRows,
    flows: listed(
      wantFlows ? flowsShown : [],
      limits.rows,
      q === '' ? flowRows.length : flowsShown.length,
    ),
    bindings: listed(
      wantBindings ? bindingRows : [],
      limits.rows,
      q === '' ? bindingTotal : scannedAll ? matched : null,
      q !== '' && !scannedAll,
    ),
    transactions: listed(txShown, limits.rows, q === '' ? txTotal : txShown.length),
    errors,
  };
}
