import type { RequestContext } from '../../proxy/context.js';

/** What the script layer needs from the registrar module (Kamailio registrar functions). */
export interface RegistrarApi {
  /** `save("location"[, flags])`: 1 inserted, 2 updated, 3 deleted, 4 listed; -1 error (already answered), -2 too many contacts. */
  save(ctx: RequestContext, table: string, flags?: number): Promise<number>;
  /** `lookup("location"[, uri])`: 1 found; -1 not found; -2 method not allowed; -3 internal error. */
  lookup(ctx: RequestContext, table: string, uri?: string): Promise<number>;
  /** `unregister("location", uri[, ruid])`: 1 removed; -1 bad input; -2 store failure; -3 not found. */
  unregister(ctx: RequestContext, table: string, uri: string, ruid?: string): Promise<number>;
}

/** `save()` return codes (Kamailio registrar README). */
export const SaveRc = {
  /** At least one binding was inserted. */
  Inserted: 1,
  /** Bindings were refreshed / changed, none inserted. */
  Updated: 2,
  /** Bindings were only removed (`Expires: 0`, `Contact: *`). */
  Deleted: 3,
  /** Nothing changed: a query (no Contact) or a retransmission; the bindings were listed. */
  Listed: 4,
  /** The REGISTER was refused; the error reply has been sent (unless `SaveFlags.NoReply`). */
  Error: -1,
  /** More bindings than `max_contacts` (503 sent). */
  TooMany: -2,
} as const;

/** `save()` flags (Kamailio registrar `save(domain, flags)`). */
export const SaveFlags = {
  /** Accepted for compatibility; flowgate always writes through the configured store. */
  MemoryOnly: 0x01,
  /** Do not send the reply: the script answers (with `sl_reply_error()` on failure). */
  NoReply: 0x02,
} as const;

/** `lookup()` return codes. */
export const LookupRc = {
  Found: 1,
  /** No record, no valid binding, or a GRUU that names nothing. */
  NotFound: -1,
  /** Bindings exist but none accepts the method (`method_filtering` only). */
  MethodNotAllowed: -2,
  /** A malformed temp-GRUU, an unusable URI, or the location store failed (then `lastError` is set). */
  Internal: -3,
} as const;

/** `unregister()` return codes. */
export const UnregisterRc = {
  Removed: 1,
  /** Empty ruid, or a URI without a usable AoR. */
  BadInput: -1,
  /** The location store failed. */
  StoreFailure: -2,
  /** No such binding (already gone). */
  NotFound: -3,
} as const;
