// Throw-away PKI for TLS/WSS tests, made with the openssl CLI in a temp directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A CA, a server certificate (SAN: 127.0.0.1, ::1, localhost) and a client certificate, PEM. */
export interface TestPki {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly dir: string;
  cleanup(): void;
}

/** True when the `openssl` CLI can be run. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Generates the PKI (EC P-256 keys, 1 day validity). The server certificate names 127.0.0.1, ::1,
 * localhost and `extraIps`. Throws when openssl is missing.
 */
export function makeTestPki(extraIps: readonly string[] = []): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-pki-'));
  try {
    const key = (name: string): void =>
      openssl(dir, [
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-out',
        `${name}.key`,
      ]);
    key('ca');
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sha256',
      '-days',
      '1',
      '-subj',
      '/CN=flowgate test CA',
      '-out',
      'ca.pem',
    ]);
    const leaf = (name: string, cn: string, ext: string): void => {
      key(name);
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl(dir, [
        'req',
        '-new',
        '-key',
        `${name}.key`,
        '-subj',
        `/CN=${cn}`,
        '-out',
        `${name}.csr`,
      ]);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '1',
        '-sha256',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      ]);
    };
    leaf(
      'server',
      'localhost',
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${['127.0.0.1', '::1', ...extraIps].map((ip) => `IP:${ip}`).join(',')},DNS:localhost\n`,
    );
    leaf(
      'client',
      'flowgate test client',
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n',
    );
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    return {
      ca: read('ca.pem'),
      cert: read('server.pem'),
      key: read('server.key'),
      clientCert: read('client.pem'),
      clientKey: read('client.key'),
      dir,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
