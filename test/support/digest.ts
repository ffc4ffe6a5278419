// A digest client for tests (RFC 7616 / RFC 3261 §22): parses a challenge and computes credentials.
import { createHash, randomBytes } from 'node:crypto';

/** The parameters of a WWW-Authenticate / Proxy-Authenticate value. */
export function parseChallenge(value: string): Map<string, string> {
  const out = new Map<string, string>();
  const body = value.replace(/^\s*Digest\s+/i, '');
  const re = /([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (const m of body.matchAll(re))
    out.set(
      (m[1] as string).toLowerCase(),
      m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] as string),
    );
  return out;
}

function h(alg: string, s: string): string {
  return createHash(alg.toUpperCase() === 'SHA-256' ? 'sha256' : 'md5')
    .update(s)
    .digest('hex');
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Builds the Authorization value answering `challenge` for `method uri` (qop=auth when offered). */
export function digestAuthorization(
  challenge: string,
  req: { method: string; uri: string },
  cred: Credentials,
  opts: { nc?: number; cnonce?: string; realm?: string } = {},
): string {
  const c = parseChallenge(challenge);
  const realm = opts.realm ?? c.get('realm') ?? '';
  const nonce = c.get('nonce') ?? '';
  const alg = c.get('algorithm') ?? 'MD5';
  const qop = c.get('qop')?.split(',')[0]?.trim();
  const ha1 = h(alg, `${cred.username}:${realm}:${cred.password}`);
  const ha2 = h(alg, `${req.method}:${req.uri}`);
  const nc = (opts.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = opts.cnonce ?? randomBytes(8).toString('hex');
  const response =
    qop === undefined
      ? h(alg, `${ha1}:${nonce}:${ha2}`)
      : h(alg, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
  return `Digest username="${cred.username}", realm="${realm}", nonce="${nonce}", uri="${req.uri}", response="${response}", algorithm=${alg}${qop === undefined ? '' : `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"`}`;
}
