export {
  type ApiLogLevel,
  LOG_LEVELS,
  type LogLevelControl,
  type ManagementOptions,
  type ManagementServer,
  startManagementServer,
  type TlsReloadOutcome,
} from './http-api.js';
export { type ProcessInfo, renderMetrics } from './metrics.js';
export {
  escapeLabel,
  Histogram,
  LATENCY_BUCKETS,
  type Labels,
  type MetricType,
  PrometheusText,
} from './prometheus.js';
export {
  matchPath,
  ROUTES,
  type RouteAuth,
  type RouteId,
  type RouteMethod,
  type RouteParam,
  type RouteSpec,
  routesFor,
} from './routes.js';
export { StoreMetrics, TimedLocationStore } from './timed-store.js';
export { type UsersApiOptions, usersHandlers } from './users-api.js';
export {
  type BindingJson,
  bindingJson,
  closeFlowOf,
  type FlowJson,
  flowJson,
  flowsOf,
  flowTokenFailuresOf,
  type ManagedElement,
  type ManagedServer,
  transportStatsOf,
} from './view.js';
