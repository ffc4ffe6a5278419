// In-memory Kamailio configuration files for the .cfg interpreter's tests. Not a test file.
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import type { Script } from '../../../../src/script/api.js';
import {
  CfgError,
  type CfgIssue,
  type CompiledCfg,
  compileCfg,
} from '../../../../src/script/cfg/index.js';
import type { Logger } from '../../../../src/util/logger.js';
import { type Harness, harness } from '../../../support/harness.js';

/** Compiles `text` as `/cfg/t.cfg` (more files in `files`, by absolute path). */
export function compile(
  text: string,
  opts: { files?: Record<string, string>; defines?: string[]; env?: Record<string, string> } = {},
): CompiledCfg {
  const files: Record<string, string> = { '/cfg/t.cfg': text, ...(opts.files ?? {}) };
  return compileCfg('/cfg/t.cfg', {
    reader: { read: (p) => files[p], display: (p) => basename(p) },
    defines: opts.defines,
    env: opts.env ?? {},
  });
}

/** The problems compiling `text` reports (fails when it compiles). */
export function problems(text: string, opts: Parameters<typeof compile>[1] = {}): CfgIssue[] {
  try {
    compile(text, opts);
  } catch (e) {
    if (e instanceof CfgError) return [...e.issues];
    throw e;
  }
  assert.fail(`expected problems, but it compiled:\n${text}`);
}

/** `file:line:col: message` of the first problem. */
export function firstProblem(text: string, opts: Parameters<typeof compile>[1] = {}): string {
  const p = problems(text, opts)[0] as CfgIssue;
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** The modules every small test config loads. */
export const MODULES = ['tm', 'sl', 'textops', 'siputils', 'xlog', 'pv', 'maxfwd', 'sanity', 'rr']
  .map((m) => `loadmodule "${m}.so"`)
  .join('\n');

/** An element running a compiled script over the harness (UDP 127.0.0.1:5060). */
export function element(script: Script, logger?: Logger): Harness {
  return harness({ script, aliases: ['example.com'], ...(logger === undefined ? {} : { logger }) });
}

/** A request as a UDP client at 127.0.0.1:40000 sends it (LF line ends are fine). */
export function request(
  method: string,
  ruri: string,
  o: { headers?: string; via?: string; branch?: string } = {},
): string {
  const branch = o.branch ?? `z9hG4bK${Math.random().toString(36).slice(2)}`;
  return `${method} ${ruri} SIP/2.0
Via: ${o.via ?? `SIP/2.0/UDP 127.0.0.1:40000;branch=${branch};rport`}
Max-Forwards: 70
From: <sip:bob@example.com>;tag=from-tag
To: <sip:alice@example.com>
Call-ID: ${branch}@test
CSeq: 1 ${method}
${o.headers ?? ''}Content-Length: 0

`;
}

/** The status line of each response sent, in order. */
export function statuses(h: Harness): string[] {
  return h.take().map((s) => s.buf.toString('latin1').split('\r\n')[0] ?? '');
}
