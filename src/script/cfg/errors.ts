import { SipError } from '../../errors/index.js';
import type { Pos } from './ast.js';

/** One problem in a Kamailio configuration file, with where it is. */
export interface CfgIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** What is wrong, and what would be right (a hint with the nearest known name, when there is one). */
  readonly message: string;
}

/** `file:line:col: message` */
export function formatCfgIssue(i: CfgIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.message}`;
}

/** A configuration file flowgate cannot run; `issues` lists every problem found. */
export class CfgError extends SipError {
  override name = 'CfgError';
  readonly issues: readonly CfgIssue[];

  constructor(issues: readonly CfgIssue[], options?: { cause?: unknown }) {
    super('SIP_ERR_CONFIG', issues.map(formatCfgIssue).join('\n'), options);
    this.issues = issues;
  }
}

/** An issue at a position. */
export function issueAt(pos: Pos, message: string): CfgIssue {
  return { file: pos.file, line: pos.line, col: pos.col, message };
}
