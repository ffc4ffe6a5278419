export {
  COLLECTOR_URI_FORMS,
  type CollectorAddress,
  formatCollector,
  HepSender,
  type HepSenderOptions,
  type HepSenderStats,
  parseCollectorUri,
} from './collector.js';
export {
  type DecodedHep,
  decodeHep,
  encodeHep,
  encodeHepParts,
  HEP_MAX_LENGTH,
  HepChunk,
  HepFamily,
  type HepPacket,
  HepProtoType,
  IpProto,
  splitHepStream,
} from './hep.js';
export {
  isoMicros,
  type TraceEventJson,
  type TraceFilter,
  TraceSession,
  traceEventJson,
} from './live-trace.js';
export { callIdOf, headerValue, startLine } from './sip-text.js';
export { SipTrace, type SiptraceParams, type SiptraceStatus } from './siptrace.js';
export {
  type CapturedMessage,
  MessageTap,
  type TapSink,
  type TapSource,
  wallMicros,
} from './tap.js';
