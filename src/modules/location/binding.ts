/**
 * A registered contact of an address-of-record (Kamailio usrloc `ucontact`; RFC 3261 §10.3,
 * RFC 5626 §6, RFC 3327, RFC 5627). Plain data, so every store can persist it as is.
 */
export interface Binding {
  /** Unique id, assigned on insert and kept across refreshes. */
  readonly ruid: string;
  /** The address-of-record key (see the registrar's AoR rules). */
  readonly aor: string;
  /** Contact URI exactly as in the REGISTER (without `<>` and header parameters). */
  readonly contact: string;
  /** `received` Contact parameter, if the UA (or an edge) gave one. */
  readonly received: string | undefined;
  /** Path header values of the REGISTER, in order (RFC 3327); empty when none. */
  readonly path: readonly string[];
  /**
   * Absolute expiry, wall-clock epoch milliseconds (an integer > 0). The binding is current while
   * `expires > now`. There are no permanent bindings (Kamailio's `expires == 0`).
   */
  readonly expires: number;
  /** q-value in thousandths (0..1000); undefined when the Contact had no q. */
  readonly q: number | undefined;
  readonly callId: string;
  readonly cseq: number;
  readonly userAgent: string | undefined;
  /** `+sip.instance` without quotes, e.g. `<urn:uuid:…>` (RFC 5626 §4.1). */
  readonly instance: string | undefined;
  /** `reg-id` (RFC 5626 §4.2), 0 when none or not used. */
  readonly regId: number;
  /** The flow the REGISTER arrived on at this registrar (transport flow id). */
  readonly flowId: string | undefined;
  /** The local socket that received the REGISTER: `proto:address:port`. */
  readonly socket: string | undefined;
  /** Methods the contact accepts (Contact `methods` / Allow); undefined = all. */
  readonly methods: readonly string[] | undefined;
  /** Branch flags to restore on lookup. */
  readonly flags: number;
  /** Wall-clock ms of the last change. */
  readonly lastModified: number;
  /**
   * Ordering key among bindings of equal q: lower = older (inserted first). Set on insert and kept
   * on refresh, like `ruid`; `SeqSource` hands out values that stay ordered across processes.
   */
  readonly seq: number;
  /**
   * Temporary GRUUs handed out for this binding (RFC 5627 §3.2: a new one per refresh; all stay
   * valid until the binding's Call-ID changes). Only their distinguishing part is stored.
   */
  readonly tempGruus: readonly string[];
}

/** Changes to one AoR, applied atomically by a store. */
export interface AorChanges {
  /** Bindings to insert or replace (matched by ruid). */
  readonly upsert: readonly Binding[];
  /** ruids to delete. */
  readonly remove: readonly string[];
}

/** A page of bindings for listings (`flowgate ctl`). */
export interface BindingPage {
  readonly bindings: Binding[];
  /** Pass back to get the next page; undefined at the end. */
  readonly next: string | undefined;
}

/**
 * The location service (Kamailio usrloc). Every backend passes the one conformance suite in
 * `test/support/location-store.case.ts`. Reads never return expired bindings.
 *
 * Errors: a backend failure (unreachable, timed out, unreadable data) or a call on a store that is
 * not open rejects with `LocationStoreError` (code `REG_ERR_STORE`, status 500); a malformed
 * argument rejects with `InvalidArgumentError` before anything is written.
 */
export interface LocationStore {
  readonly name: string;
  /** Opens connections / files; called once before use (again after `close()` reopens). */
  open(): Promise<void>;
  /** Flushes and closes; stops the purge timer. Closing a closed store does nothing. */
  close(): Promise<void>;
  /**
   * Current (unexpired) bindings of an AoR, ordered by q descending (no q sorts below q=0), then
   * `seq` ascending, then ruid.
   */
  get(aor: string): Promise<Binding[]>;
  /** A binding by ruid (unexpired), whatever its AoR. */
  getByRuid(ruid: string): Promise<Binding | undefined>;
  /**
   * Applies upserts and removals for one AoR atomically: all or nothing. Every upserted binding
   * must be valid (`checkBinding` in validate.ts) and belong to `aor`; no ruid may appear twice.
   * An upsert whose `expires` has passed removes the binding; removing a ruid that is not a binding
   * of `aor` does nothing; upserting a ruid that is a current binding of another AoR is refused.
   * @throws InvalidArgumentError for any of the above, with nothing written.
   */
  apply(aor: string, changes: AorChanges): Promise<void>;
  /** Removes every binding of an AoR; returns how many of them were unexpired. */
  removeAor(aor: string): Promise<number>;
  /**
   * Pages through every AoR's unexpired bindings in a stable order: AoR by code point (UTF-8 byte
   * order), then `seq`, then ruid. `limit` >= 1; a cursor is only valid for the store that made it.
   */
  list(cursor: string | undefined, limit: number): Promise<BindingPage>;
  /** Number of unexpired bindings. */
  count(): Promise<number>;
  /** Deletes expired bindings now; returns how many (the store also does this on its own timer). */
  purgeExpired(): Promise<number>;
}
