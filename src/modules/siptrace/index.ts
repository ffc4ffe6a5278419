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
  type ByteSpan,
  type DecodedHep,
  decodeHep,
  encodeHep,
  encodeHepParts,
  HEP_MAX_LENGTH,
  HepChunk,
  HepFamily,
  type HepLayout,
  type HepPacket,
  HepProtoType,
  hepLayout,
  IpProto,
  splitHepStream,
  writeHep,
} from './hep.js';
export {
  isoMicros,
  type TraceEventJson,
  type TraceFilter,
  TraceSession,
  traceEventJson,
} from './live-trace.js';
export { callIdOf, callIdSpan, headerValue, startLine } from './sip-text.js';
export { SipTrace, type SiptraceParams, type SiptraceStatus } from './siptrace.js';
export {
  type CapturedMessage,
  MessageTap,
  type TapSink,
  type TapSource,
  wallMicros,
} from './tap.js';
