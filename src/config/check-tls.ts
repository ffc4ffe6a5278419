import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { TlsFiles } from './types.js';

/** A problem with one of an element's TLS files (`file` undefined: the pair as a whole). */
export interface TlsProblem {
  readonly file: 'cert' | 'key' | 'ca' | undefined;
  readonly message: string;
}

/** What a failed read means. */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message : String(e);
}

interface PemBlock {
  readonly label: string;
  readonly text: string;
}

/** The PEM blocks of a file (`-----BEGIN X-----` … `-----END X-----`), in order. */
function pemBlocks(buf: Buffer): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
  for (const m of buf.toString('latin1').matchAll(re)) out.push({ label: m[1] ?? '', text: m[0] });
  return out;
}

/** DER starts with a SEQUENCE (0x30). */
function looksDer(buf: Buffer): boolean {
  return buf.length > 2 && buf[0] === 0x30 && (buf[1] ?? 0) >= 0x80;
}

function day(d: number): string {
  return new Date(d).toISOString().slice(0, 10);
}

function subjectOf(c: X509Certificate): string {
  return c.subject.replace(/\n/g, ', ');
}

/** The certificates of a PEM file, or what is wrong with it (`kind`: certificate or CA bundle). */
function certificates(
  path: string,
  buf: Buffer,
  kind: 'certificate' | 'CA bundle',
): { certs: X509Certificate[] } | { problem: string } {
  const blocks = pemBlocks(buf);
  if (blocks.length === 0) {
    if (looksDer(buf))
      return {
        problem: `${path} is a binary (DER) file, not PEM: convert it with openssl x509 -inform der -in ${path} -out ${path}.pem and name the .pem file`,
      };
    return {
      problem: `${path} is not a PEM ${kind}: it has no -----BEGIN CERTIFICATE----- line`,
    };
  }
  const certBlocks = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certBlocks.length === 0) {
    const keyish = blocks.some((b) => b.label.endsWith('PRIVATE KEY'));
    return {
      problem: keyish
        ? `${path} holds a private key, not a certificate: are cert and key swapped?`
        : `${path} holds no certificate (it has ${blocks.map((b) => b.label).join(', ')})`,
    };
  }
  const certs: X509Certificate[] = [];
  for (const [i, b] of certBlocks.entries()) {
    try {
      certs.push(new X509Certificate(b.text));
    } catch {
      return {
        problem: `${certBlocks.length === 1 ? 'the certificate' : `certificate ${i + 1}`} in ${path} cannot be read (damaged or truncated PEM): copy or export it again`,
      };
    }
  }
  return { certs };
}

/** The private key of a PEM file, or what is wrong with it. */
function privateKey(path: string, buf: Buffer): { key: KeyObject } | { problem: string } {
  const blocks = pemBlocks(buf);
  const block = blocks.find((b) => b.label.endsWith('PRIVATE KEY'));
  if (block === undefined) {
    if (blocks.some((b) => b.label === 'CERTIFICATE'))
      return {
        problem: `${path} holds a certificate, not a private key: are cert and key swapped?`,
      };
    if (looksDer(buf))
      return {
        problem: `${path} is a binary (DER) file, not PEM: convert it with openssl pkey -inform der -in ${path} -out ${path}.pem and name the .pem file`,
      };
    return {
      problem: `${path} is not a PEM private key: it has no -----BEGIN PRIVATE KEY----- line`,
    };
  }
  if (block.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(block.text))
    return {
      problem: `${path} is encrypted with a passphrase, which flowgate cannot ask for: write a decrypted copy (openssl pkey -in ${path} -out server.key), readable only by the user flowgate runs as, and name that`,
    };
  try {
    return { key: createPrivateKey(block.text) };
  } catch {
    return {
      problem: `the private key in ${path} cannot be read (damaged PEM, or a key type this Node.js does not know): export it again`,
    };
  }
}

/** A problem OpenSSL finds once certificate and key are loaded together, in plain words. */
function contextProblem(e: unknown): string {
  const err = e as { code?: string; reason?: string };
  switch (err.code) {
    case 'ERR_SSL_EE_KEY_TOO_SMALL':
      return "the certificate's key is too small for OpenSSL's security level: issue a new certificate with an RSA key of 2048 bits or more, or an EC key";
    case 'ERR_SSL_CA_MD_TOO_WEAK':
      return 'the certificate is signed with a weak digest (MD5 or SHA-1) that OpenSSL refuses: have it issued again with SHA-256';
    default:
      return `TLS cannot use this certificate and key together (${err.reason ?? err.code ?? 'unknown reason'}): check that both files are the ones issued together`;
  }
}

/**
 * Checks an element's TLS files the way a TLS listener will use them, and says what is wrong in
 * words an operator can act on (never OpenSSL's error strings): each file readable and PEM, the
 * certificate within its validity period, the key not encrypted and belonging to the certificate,
 * the CA bundle made of certificates.
 */
export async function checkTlsFiles(t: TlsFiles, now = Date.now()): Promise<TlsProblem[]> {
  const problems: TlsProblem[] = [];
  const bufs: Partial<Record<'cert' | 'key' | 'ca', Buffer>> = {};
  for (const k of ['cert', 'key', 'ca'] as const) {
    const p = t[k];
    if (p === undefined) continue;
    try {
      bufs[k] = await readFile(p);
    } catch (e) {
      const denied = (e as NodeJS.ErrnoException).code === 'EACCES';
      problems.push({
        file: k,
        message: `cannot read ${p}: ${errnoText(e)}${denied ? ' (the user flowgate runs as must be able to read it, e.g. chgrp to its group and chmod 640)' : ''}`,
      });
    }
  }
  let leaf: X509Certificate | undefined;
  if (bufs.cert !== undefined) {
    const c = certificates(t.cert, bufs.cert, 'certificate');
    if ('problem' in c) problems.push({ file: 'cert', message: c.problem });
    else {
      leaf = c.certs[0];
      for (const [i, x] of c.certs.entries()) {
        const which =
          i === 0 ? `the certificate in ${t.cert}` : `chain certificate ${i + 1} in ${t.cert}`;
        const to = Date.parse(x.validTo);
        const from = Date.parse(x.validFrom);
        if (!Number.isNaN(to) && to < now)
          problems.push({
            file: 'cert',
            message: `${which} (${subjectOf(x)}) expired on ${day(to)}: renew it, put the new one in place and restart flowgate`,
          });
        else if (!Number.isNaN(from) && from > now)
          problems.push({
            file: 'cert',
            message: `${which} (${subjectOf(x)}) is not valid before ${day(from)}: is this host's clock right?`,
          });
      }
    }
  }
  let key: KeyObject | undefined;
  if (bufs.key !== undefined) {
    const k = privateKey(t.key, bufs.key);
    if ('problem' in k) problems.push({ file: 'key', message: k.problem });
    else key = k.key;
  }
  if (leaf !== undefined && key !== undefined && !leaf.checkPrivateKey(key))
    problems.push({
      file: 'key',
      message: `the key in ${t.key} does not belong to the certificate in ${t.cert} (${subjectOf(leaf)}): name the key the certificate was issued for (the certificate must come first in its file)`,
    });
  if (bufs.ca !== undefined && t.ca !== undefined) {
    const c = certificates(t.ca, bufs.ca, 'CA bundle');
    if ('problem' in c) problems.push({ file: 'ca', message: c.problem });
  }
  if (problems.length === 0 && bufs.cert !== undefined && bufs.key !== undefined) {
    // what only OpenSSL knows (key size and digest against its security level)
    try {
      createSecureContext({
        cert: bufs.cert,
        key: bufs.key,
        ...(bufs.ca === undefined ? {} : { ca: bufs.ca }),
      });
    } catch (e) {
      problems.push({ file: undefined, message: contextProblem(e) });
    }
  }
  return problems;
}
