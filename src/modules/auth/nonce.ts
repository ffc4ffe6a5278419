import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of a nonce: issue time (4), nonce id (4), MAC (12). */
const TIME = 4;
const NID = 4;
const MAC = 12;
const LEN = TIME + NID + MAC;

/** Why a nonce was refused. */
export type NonceVerdict =
  | { readonly ok: true; readonly nid: number }
  /** Well formed and ours, but too old (or its nc slot was reused): re-challenge with stale=true. */
  | { readonly ok: false; readonly stale: true }
  /** Not one of ours (tampered, another realm, another secret). */
  | { readonly ok: false; readonly stale: false };

/** Result of the nonce-count check (RFC 7616 §3.4: nc must increase). */
export type NcVerdict = 'ok' | 'replay' | 'stale';

/**
 * Stateless nonces (RFC 7616 §5.4 / §3.3): `base64url(time ‖ nid ‖ HMAC-SHA256(secret, time ‖ nid ‖ realm)[0..12])`.
 * Nothing is stored per nonce except one byte of nonce-count state in a ring indexed by the nonce
 * id (Kamailio's nc array): a repeated or lower `nc` is a replay; a nonce whose slot has since been
 * reused, or whose nc would pass 255, is stale and gets a fresh challenge.
 */
export class NonceManager {
  readonly #key: Buffer;
  readonly #expireSec: number;
  readonly #nc: Uint8Array;
  readonly #mask: number;
  /** Next nonce id (uint32, wraps). */
  #next = 0;
  readonly #now: () => number;

  /**
   * @param secret signing secret; undefined: 32 random bytes (nonces die with the process)
   * @param expireSec nonce lifetime (Kamailio `nonce_expire`)
   * @param ncSize tracked nonces, a power of two (Kamailio `nc_array_size`)
   * @param now wall clock in ms
   */
  constructor(
    secret: string | undefined,
    expireSec: number,
    ncSize: number,
    now: () => number = Date.now,
  ) {
    this.#key = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
    this.#expireSec = expireSec;
    this.#nc = new Uint8Array(ncSize);
    this.#mask = ncSize - 1;
    this.#now = now;
    this.#next = randomBytes(4).readUInt32BE(0);
  }

  #mac(body: Buffer, realm: string): Buffer {
    return createHmac('sha256', this.#key).update(body).update(realm, 'utf8').digest();
  }

  /** A new nonce for `realm`; its nc state starts at 0. */
  issue(realm: string): string {
    const buf = Buffer.allocUnsafe(LEN);
    buf.writeUInt32BE(Math.floor(this.#now() / 1000) >>> 0, 0);
    const nid = this.#next;
    this.#next = (this.#next + 1) >>> 0;
    buf.writeUInt32BE(nid, TIME);
    this.#mac(buf.subarray(0, TIME + NID), realm).copy(buf, TIME + NID, 0, MAC);
    this.#nc[nid & this.#mask] = 0;
    return buf.toString('base64url');
  }

  /** Checks that `nonce` is ours for `realm` and not expired. */
  verify(nonce: string, realm: string): NonceVerdict {
    if (nonce.length !== Math.ceil((LEN * 4) / 3)) return { ok: false, stale: false };
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== LEN) return { ok: false, stale: false };
    const mac = this.#mac(buf.subarray(0, TIME + NID), realm).subarray(0, MAC);
    if (!timingSafeEqual(mac, buf.subarray(TIME + NID))) return { ok: false, stale: false };
    const issued = buf.readUInt32BE(0);
    const now = Math.floor(this.#now() / 1000);
    // a nonce from the future beyond a small drift (clock stepped back) is stale too (Kamailio nonce_auth_max_drift)
    if (now - issued > this.#expireSec || issued - now > 3) return { ok: false, stale: true };
    const nid = buf.readUInt32BE(TIME);
    // the ring has moved past this nonce's slot since it was issued: its nc state is gone
    if ((this.#next - nid) >>> 0 > this.#nc.length) return { ok: false, stale: true };
    return { ok: true, nid };
  }

  /**
   * Records `nc` for the nonce `nid` (RFC 7616 §3.4: the client increments nc for each request with
   * the same nonce). A value not above the last one seen is a replay.
   */
  useNc(nid: number, nc: number): NcVerdict {
    if (!Number.isInteger(nc) || nc < 1) return 'replay';
    if (nc > 255) return 'stale';
    const slot = nid & this.#mask;
    const last = this.#nc[slot] ?? 0;
    if (nc <= last) return 'replay';
    this.#nc[slot] = nc;
    return 'ok';
  }
}
