import { SipError } from '../../../errors/index.js';

/** The code of every {@link CredentialStoreError} (listed in docs/errors.md). */
export const CREDENTIAL_STORE_ERROR_CODE = 'SIP_ERR_AUTH_STORE';

/**
 * The credentials store backend failed: the database or server is unreachable, timed out, returned
 * something unreadable, or the store is not open. Authentication answers such a request with 500
 * (Kamailio auth_db's `AUTH_ERROR`), never with a challenge the user could not pass.
 */
export class CredentialStoreError extends SipError {
  override name = 'CredentialStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(CREDENTIAL_STORE_ERROR_CODE, message, options);
  }
}
