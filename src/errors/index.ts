export { ERRORS, type ErrorCode } from './codes.js';
export {
  fail,
  InvalidArgumentError,
  ok,
  type ParseResult,
  SipError,
  SipParseError,
} from './sip-error.js';
