import { SipError } from '../../errors/index.js';

/**
 * The code of every {@link LocationStoreError}. A registrar maps it to `500` with
 * {@link LOCATION_STORE_ERROR_REASON} (Kamailio answers a failed usrloc write with 500 too).
 */
export const LOCATION_STORE_ERROR_CODE = 'REG_ERR_STORE';

/** The SIP reason phrase a registrar sends for a {@link LocationStoreError}. */
export const LOCATION_STORE_ERROR_REASON = 'Location Store Unavailable';

/**
 * The location store backend failed: the database or server is unreachable, timed out, returned
 * something unreadable, or the store is not open. The operation that failed left no partial change
 * behind: an `apply()` that rejects with this error was applied either completely or not at all
 * (the reply may have been lost after the backend committed). The store keeps working once the
 * backend is back.
 */
export class LocationStoreError extends SipError {
  override name = 'LocationStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(LOCATION_STORE_ERROR_CODE, message, {
      status: 500,
      reason: LOCATION_STORE_ERROR_REASON,
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
  }
}
