export { RateHistory, type RateSample } from './rates.js';
export {
  buildState,
  DEFAULT_LIMITS,
  type DecodedPath,
  PathDecoder,
  type SnapshotLimits,
  WallClock,
} from './snapshot.js';
export type {
  ConsoleBinding,
  ConsoleElement,
  ConsoleFlow,
  ConsoleRatePoint,
  ConsoleRates,
  ConsoleState,
  ConsoleTransaction,
  FlowBindingRef,
  Listed,
  PathTokenJson,
} from './types.js';
export {
  DEFAULT_ASSETS_DIR,
  SESSION_COOKIE,
  WebConsole,
  type WebConsoleOptions,
} from './web-console.js';
