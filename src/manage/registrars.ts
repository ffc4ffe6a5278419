import type { DestinationView } from '../proxy/destination-set.js';
import type { ManagedElement } from './view.js';

/** What management reads of an element's registrar set (`FlowgateServer.registrars`). */
interface RegistrarSetView {
  view(): DestinationView[];
}

/** The registrars of an edge with their state (empty for an element without a registrar set). */
export function registrarsOf(e: ManagedElement): DestinationView[] {
  const set = (e.server as { readonly registrars?: RegistrarSetView | undefined }).registrars;
  return set === undefined ? [] : set.view();
}

/** A registrar of an edge as the API shows it (`GET /v1/registrars`, `flowgate ctl registrars`). */
export interface RegistrarJson {
  readonly element: string;
  /** `sip:address:port;transport=…` */
  readonly uri: string;
  /** The `edge.registrar` entry it comes from (a host name gives one registrar per address). */
  readonly source: string;
  readonly transport: string;
  readonly address: string;
  readonly port: number;
  /** `up` (requests go to it) or `down` (skipped until it answers a probe). */
  readonly state: string;
  /** When it got into this state (or the start), ISO 8601. */
  readonly since: string;
  /** Seconds in this state. */
  readonly for_s: number;
  /** When the last probe was answered or given up, ISO 8601; null before the first. */
  readonly last_probe: string | null;
  /** The status of the last probe's answer, `timeout` or `transport error`; null before the first. */
  readonly last_result: string | null;
  /** Failed probes and requests in a row. */
  readonly failures: number;
  /** Requests that left it for the next registrar. */
  readonly failovers: number;
}

/** JSON form of one registrar of an edge. */
export function registrarJson(
  element: string,
  v: DestinationView,
  wallNow = Date.now(),
): RegistrarJson {
  return {
    element,
    uri: v.uri,
    source: v.source,
    transport: v.transport,
    address: v.address,
    port: v.port,
    state: v.state,
    since: new Date(v.since).toISOString(),
    for_s: Math.max(0, Math.round((wallNow - v.since) / 1000)),
    last_probe: v.lastProbe === undefined ? null : new Date(v.lastProbe).toISOString(),
    last_result: v.lastResult ?? null,
    failures: v.failures,
    failovers: v.failovers,
  };
}

/** Every registrar of the given elements, as JSON. */
export function registrarsJson(elements: readonly ManagedElement[]): RegistrarJson[] {
  const now = Date.now();
  return elements.flatMap((e) => registrarsOf(e).map((v) => registrarJson(e.server.name, v, now)));
}
