import { ERRORS, type ErrorCode } from './codes.js';

/** Base class of every error flowgate raises or returns: a stable code plus its SIP status. */
export class SipError extends Error {
  override name = 'SipError';
  readonly code: ErrorCode | string;
  readonly status: number;
  readonly reason: string;

  constructor(
    code: ErrorCode | string,
    message?: string,
    options?: { status?: number; reason?: string; cause?: unknown },
  ) {
    const known = (ERRORS as Record<string, { status: number; reason: string }>)[code];
    super(
      message ?? known?.reason ?? code,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.status = options?.status ?? known?.status ?? 500;
    this.reason = options?.reason ?? known?.reason ?? 'Server Internal Error';
  }
}

/**
 * A wire-format problem: returned as a value by the parsers, never thrown on the receive path.
 * `field` names the part of the message at fault (a header name, `start-line`, `body`).
 */
export class SipParseError extends SipError {
  override name = 'SipParseError';
  readonly field: string;
  /** What is wrong, without the field name (the message is `field: detail`). */
  readonly detail: string;

  constructor(
    code: ErrorCode,
    field: string,
    detail?: string,
    options?: { status?: number; reason?: string },
  ) {
    const d = detail ?? ERRORS[code].reason;
    super(code, `${field}: ${d}`, options);
    this.field = field;
    this.detail = d;
  }
}

/** Bad configuration or API use: a programmer error, thrown. */
export class InvalidArgumentError extends SipError {
  override name = 'InvalidArgumentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('SIP_ERR_INVALID_ARGUMENT', message, options);
  }
}

/** Result type used by every parser: errors are values. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: SipParseError };

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function fail<T>(code: ErrorCode, field: string, detail?: string): ParseResult<T> {
  return { ok: false, error: new SipParseError(code, field, detail) };
}
