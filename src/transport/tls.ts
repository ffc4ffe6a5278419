import type { Socket } from 'node:net';
import { connect, createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { InvalidArgumentError } from '../errors/sip-error.js';
import type { Address, TlsConfig } from './types.js';

/**
 * TLS for SIP (RFC 3261 §26.2.1) and WSS: the server side wraps an accepted TCP socket, so the
 * connection caps apply before any handshake work and the first-message deadline covers a
 * handshake that never ends; the client side is `tls.connect`. Both then run the same
 * {@link StreamConnection} (or WebSocket) code as plain TCP.
 */

/** The server certificate context, built once per layer. */
export function serverContext(cfg: TlsConfig | undefined): SecureContext {
  if (cfg === undefined)
    throw new InvalidArgumentError(
      'transport: a TLS or WSS listener needs the `tls` config (cert, key)',
    );
  try {
    return createSecureContext({
      cert: cfg.cert,
      key: cfg.key,
      ...(cfg.ca !== undefined ? { ca: cfg.ca } : {}),
    });
  } catch (err) {
    throw new InvalidArgumentError(
      `transport: bad TLS certificate or key: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Wraps an accepted socket in a server-side TLS socket (handshake starts at once). */
export function wrapServerSocket(socket: Socket, ctx: SecureContext, cfg: TlsConfig): TLSSocket {
  const requestCert = cfg.requestCert === true;
  return new TLSSocket(socket, {
    isServer: true,
    secureContext: ctx,
    requestCert,
    rejectUnauthorized: requestCert && cfg.rejectUnauthorized !== false,
  });
}

/**
 * Opens an outgoing TLS connection to an IP address. The server certificate is checked against
 * `ca` (and the IP against its subjectAltName) unless `rejectUnauthorized` is false; data written
 * before the handshake ends is queued.
 */
export function connectTls(
  remote: Address,
  cfg: TlsConfig,
  localAddress: string | undefined,
): TLSSocket {
  return connect({
    host: remote.address,
    port: remote.port,
    cert: cfg.cert,
    key: cfg.key,
    ...(cfg.ca !== undefined ? { ca: cfg.ca } : {}),
    rejectUnauthorized: cfg.rejectUnauthorized !== false,
    ...(localAddress !== undefined ? { localAddress } : {}),
  });
}
