import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ElementConfig } from '../config/types.js';
import type { FlowgateServer } from '../server.js';
import type { TlsConfig } from '../transport/types.js';
import type { Logger } from '../util/logger.js';

/**
 * What a reload reads of a running element (instance.ts's `RunningElement` is one; declared here
 * so that the two files do not import each other).
 */
interface RunningElement {
  readonly config: Pick<ElementConfig, 'name' | 'tls'>;
  readonly server: Pick<FlowgateServer, 'transport'>;
}

/** What reloading one element's TLS material did (the management API's JSON for it). */
export interface TlsReloadResult {
  readonly element: string;
  readonly ok: boolean;
  /** The certificate now in use (the first of the chain): subject, expiry, SHA-256 fingerprint. */
  readonly subject?: string;
  readonly valid_to?: string;
  readonly fingerprint256?: string;
  /** Why the old material stays in use. */
  readonly error?: string;
}

/** The transport of an element that can replace its TLS material (`TransportLayer`). */
interface TlsReloadable {
  reloadTls(tls: TlsConfig): void;
}

function readable(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied (the files must be readable by the user flowgate runs as)'
          : e instanceof Error
            ? e.message
            : String(e);
    throw new Error(`cannot read ${path}: ${why}`);
  }
}

/**
 * The first certificate of the chain, after checking in plain words what OpenSSL would say in its
 * own: the files are PEM, the key belongs to the certificate, the certificate is in force.
 */
function usable(
  files: { cert: string; key: string },
  cert: Buffer,
  key: Buffer,
  now: number,
): X509Certificate {
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch {
    throw new Error(`${files.cert} is not a PEM certificate (or it is damaged)`);
  }
  let k: KeyObject;
  try {
    k = createPrivateKey(key);
  } catch {
    throw new Error(
      `${files.key} is not a PEM private key (or it is encrypted with a passphrase, or damaged)`,
    );
  }
  if (!x.checkPrivateKey(k))
    throw new Error(
      `the key in ${files.key} does not belong to the certificate in ${files.cert}: install both files of one renewal`,
    );
  const until = Date.parse(x.validTo);
  if (until < now)
    throw new Error(`the certificate in ${files.cert} expired on ${new Date(until).toISOString()}`);
  const from = Date.parse(x.validFrom);
  if (from > now)
    throw new Error(
      `the certificate in ${files.cert} is not valid before ${new Date(from).toISOString()}`,
    );
  return x;
}

/**
 * Certificate renewal without dropping flows: reads the `tls` files of every element that has
 * them again and hands them to its transport. New TLS and WSS handshakes (and new outgoing TLS
 * connections) use the new certificate; connections already open keep theirs, so no flow is
 * closed. An element whose new files cannot be read or do not fit together keeps the material it
 * had, and its result says why. Triggered by SIGHUP (`systemctl reload`) and by
 * `POST /v1/tls/reload` (`flowgate ctl reload-tls`).
 */
export function reloadTls(
  elements: readonly RunningElement[],
  now = Date.now(),
): TlsReloadResult[] {
  const out: TlsReloadResult[] = [];
  for (const r of elements) {
    const files = r.config.tls;
    const transport = r.server.transport as Partial<TlsReloadable>;
    if (files === undefined || typeof transport.reloadTls !== 'function') continue;
    const element = r.config.name;
    try {
      const cert = readable(files.cert);
      const key = readable(files.key);
      const ca = files.ca === undefined ? undefined : readable(files.ca);
      const x = usable(files, cert, key, now);
      transport.reloadTls({ cert, key, ...(ca === undefined ? {} : { ca }) });
      out.push({
        element,
        ok: true,
        subject: x.subject.replace(/\n/g, ', '),
        valid_to: new Date(x.validTo).toISOString(),
        fingerprint256: x.fingerprint256,
      });
    } catch (e) {
      out.push({ element, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

/**
 * {@link reloadTls}, logged: one line per element (`TLS certificate reloaded`, or why the previous
 * certificate stays in use). `trigger` says what asked (SIGHUP, the API).
 */
export function reloadTlsLogged(
  elements: readonly RunningElement[],
  log: Logger,
  trigger: string,
): TlsReloadResult[] {
  const results = reloadTls(elements);
  for (const r of results) {
    if (r.ok) {
      const { ok: _ok, ...cert } = r;
      log.info(
        { ...cert, trigger },
        `TLS certificate reloaded (${trigger}): open flows keep theirs`,
      );
    } else
      log.error(
        { element: r.element, err: r.error, trigger },
        `TLS reload failed for ${r.element}: ${r.error}; the previous certificate stays in use`,
      );
  }
  return results;
}
