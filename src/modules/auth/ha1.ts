import { createHash } from 'node:crypto';

/** Digest algorithms flowgate offers and verifies (RFC 7616 §3.2: MD5 for RFC 2617/3261 clients, SHA-256). */
export const DigestAlgorithm = { MD5: 'MD5', SHA256: 'SHA-256' } as const;
export type DigestAlgorithm = (typeof DigestAlgorithm)[keyof typeof DigestAlgorithm];

/** All algorithms, in the order a challenge offers them by default (RFC 8760 §2.4: strongest first). */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = [
  DigestAlgorithm.SHA256,
  DigestAlgorithm.MD5,
];

/** The algorithm named in a challenge or credentials (case-insensitive, RFC 7616 §3.3); undefined if unknown. */
export function parseAlgorithm(text: string | undefined): DigestAlgorithm | undefined {
  if (text === undefined) return DigestAlgorithm.MD5; // RFC 7616 §3.3: absent means MD5
  const t = text.toUpperCase();
  if (t === 'MD5') return DigestAlgorithm.MD5;
  if (t === 'SHA-256') return DigestAlgorithm.SHA256;
  return undefined;
}

/** H(data) as lower-case hex (RFC 7616 §3.4.1). */
export function digestHash(alg: DigestAlgorithm, data: string): string {
  return createHash(alg === DigestAlgorithm.MD5 ? 'md5' : 'sha256')
    .update(data, 'utf8')
    .digest('hex');
}

/** HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2, RFC 3261 §22.4). */
export function computeHa1(
  alg: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): string {
  return digestHash(alg, `${username}:${realm}:${password}`);
}

/**
 * The four HA1 values a subscriber row keeps (Kamailio `subscriber`: `ha1` and `ha1b`, the
 * latter for UAs that send `username="user@domain"`), for MD5 and SHA-256.
 */
export interface Ha1Set {
  readonly ha1: string;
  readonly ha1b: string;
  readonly ha1_sha256: string;
  readonly ha1b_sha256: string;
}

/** Computes every HA1 of a subscriber from its password; the password itself is never stored. */
export function ha1Set(username: string, domain: string, realm: string, password: string): Ha1Set {
  const full = `${username}@${domain}`;
  return {
    ha1: computeHa1(DigestAlgorithm.MD5, username, realm, password),
    ha1b: computeHa1(DigestAlgorithm.MD5, full, realm, password),
    ha1_sha256: computeHa1(DigestAlgorithm.SHA256, username, realm, password),
    ha1b_sha256: computeHa1(DigestAlgorithm.SHA256, full, realm, password),
  };
}
