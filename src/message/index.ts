// The message layer's public surface (RFC 3261 §7, §19, §20, §25): scanning, lazy typed access,
// validation, edits and serialization, responses.
export {
  buildResponse,
  buildResponseBytes,
  newTag,
  type ResponseOptions,
  statelessToTag,
} from './build.js';
export {
  COMPACT_FORMS,
  HDR_NAMES,
  Hdr,
  headerId,
  LIST_HEADERS,
  MAGIC_COOKIE,
  Method,
  REASON_PHRASES,
  reasonPhrase,
  SINGLE_HEADERS,
} from './constants.js';
export { EditList, serialize, toWire } from './edits.js';
export {
  type HeaderName,
  HSTRIDE,
  SipMessage,
  SipRequest,
  SipResponse,
  unfold,
} from './message.js';
export {
  type ContactList,
  contactExpires,
  contactHasOb,
  contactInstance,
  contactQ,
  contactRegId,
  parseContactValues,
} from './parse/contact.js';
export { type CSeq, parseCSeq, parseUint } from './parse/cseq.js';
export { isValidHost } from './parse/host.js';
export { displayNameText, formatNameAddr, NameAddr, parseNameAddr } from './parse/name-addr.js';
export { Params, parseParams } from './parse/params.js';
export { splitComma, splitCommaOffsets } from './parse/split.js';
export {
  AbsoluteUri,
  parseSipUriStrict,
  parseUri,
  SipUri,
  TelUri,
  type Uri,
  uriScheme,
} from './parse/uri.js';
export { uriEquals } from './parse/uri-compare.js';
export { parseVia, Via, viaBranch, viaSentBy, viaWithReceived } from './parse/via.js';
export {
  DEFAULT_LIMITS,
  type MessageLimits,
  recognizeHeader,
  type ScanResult,
  scanMessage,
} from './scanner.js';
export { isSipDate, validateMessage } from './validate.js';
