// The JSON the live web console receives (`GET /v1/console/state`, and the `state` and `rates`
// events of `GET /v1/events`). Types only: the page (web/console/) imports this file too, so it
// must not import anything that needs Node.

/** A decoded flow token (RFC 5626 §5.2) of a Path entry, or why there is none. */
export interface PathTokenJson {
  /** The Path URI as stored. */
  readonly uri: string;
  /**
   * `valid`: signed with this edge's key (the fields below are set); `broken`: looks like a token
   * but its MAC fails (another edge's key, or tampered); `none`: no flow token in the user part;
   * `unknown`: no element of this process is an edge that could check it.
   */
  readonly token: 'valid' | 'broken' | 'none' | 'unknown';
  /** The edge element whose key signed it. */
  readonly edge?: string;
  readonly transport?: string;
  /** The edge's socket the flow uses (`ip:port`). */
  readonly local?: string;
  /** The UA's address as the edge saw it (`ip:port`). */
  readonly remote?: string;
  /** The id of that flow when it is open at that edge now; null when it is gone. */
  readonly flow?: string | null;
}

/** A binding row (Kamailio `ul.dump` columns the operator reads). */
export interface ConsoleBinding {
  readonly element: string;
  readonly aor: string;
  readonly ruid: string;
  readonly contact: string;
  /** Wall-clock epoch ms of expiry. */
  readonly expires_at: number;
  readonly reg_id: number;
  readonly instance: string | null;
  readonly received: string | null;
  readonly user_agent: string | null;
  readonly q: number | null;
  /** The flow the REGISTER arrived on at the registrar element (a UA that registers directly). */
  readonly flow: string | null;
  readonly path: readonly PathTokenJson[];
}

/** A binding as listed under the flow that carries it. */
export interface FlowBindingRef {
  readonly element: string;
  readonly aor: string;
  readonly ruid: string;
}

/** A flow row. Times are wall-clock epoch ms, so the page can count ages itself between pushes. */
export interface ConsoleFlow {
  readonly element: string;
  readonly id: string;
  readonly transport: string;
  readonly local: string;
  readonly peer: string;
  readonly state: string;
  readonly outgoing: boolean;
  readonly opened_at: number;
  readonly last_activity_at: number;
  /** null: no keep-alive seen from the peer yet. */
  readonly last_keepalive_at: number | null;
  /** Bindings whose Path flow token (or registrar flow) names this flow (the first 10). */
  readonly bindings: readonly FlowBindingRef[];
  /** How many bindings name it (of those the state looked at). */
  readonly binding_count: number;
}

/** A transaction still waiting for its final response. */
export interface ConsoleTransaction {
  readonly element: string;
  /** RFC 3261 §17: ist/nist (server), ict/nict (client). */
  readonly kind: 'ist' | 'nist' | 'ict' | 'nict';
  readonly method: string;
  readonly state: string;
  /** Last status sent (server) or received (client); 0 = none yet. */
  readonly status: number;
  readonly ruri: string | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly call_id: string | null;
  /** Where the request came from (server) or went to (client), `transport ip:port`. */
  readonly peer: string | null;
  readonly started_at: number;
}

/** One element of the process. */
export interface ConsoleElement {
  readonly name: string;
  readonly script: string;
  /** Has a location store (runs a registrar). */
  readonly registrar: boolean;
  /** Loads outbound (issues and checks flow tokens). */
  readonly edge: boolean;
}

/** A list cut to what the page shows. */
export interface Listed<T> {
  readonly rows: readonly T[];
  /** How many there are in all (null when unknown: a store that failed to count). */
  readonly total: number | null;
  /** True when rows is not everything that matched. */
  readonly truncated: boolean;
}

/** The list a page shows (`GET /v1/events?view=`); `all`: every list. */
export type ConsoleView = 'all' | 'flows' | 'bindings' | 'transactions' | 'rates';

/** Views `?view=` accepts. */
export const CONSOLE_VIEWS: readonly ConsoleView[] = [
  'all',
  'flows',
  'bindings',
  'transactions',
  'rates',
];

/**
 * What the page shows, for one search query and view. Lists outside the view have no rows, only
 * their totals (the tabs' counts); a search fills every list.
 */
export interface ConsoleState {
  /** Wall-clock epoch ms of this snapshot. */
  readonly at: number;
  readonly version: string;
  /** The search (AoR or IP) this state was filtered by; '' = none. */
  readonly query: string;
  readonly view: ConsoleView;
  readonly elements: readonly ConsoleElement[];
  readonly flows: Listed<ConsoleFlow>;
  readonly bindings: Listed<ConsoleBinding>;
  readonly transactions: Listed<ConsoleTransaction>;
  /** Location-store failures met while building this state (shown, not thrown). */
  readonly errors: readonly string[];
}

/** Request and reply rates per element, one point per step. */
export interface ConsoleRates {
  /** Seconds between points. */
  readonly step: number;
  /** Epoch seconds of each point (oldest first). */
  readonly t: readonly number[];
  /** Per element: requests/s and replies/s at each point (null: the element had no value then). */
  readonly series: Readonly<
    Record<
      string,
      {
        readonly requests: readonly (number | null)[];
        readonly replies: readonly (number | null)[];
      }
    >
  >;
}

/** The `rate` event: the newest point, and each element's counters since start. */
export interface ConsoleRatePoint extends ConsoleRates {
  readonly totals: Readonly<
    Record<string, { readonly requests: number; readonly replies: number }>
  >;
}
