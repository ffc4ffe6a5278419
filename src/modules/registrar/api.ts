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
