/**
 * flowgate's public API: build SIP elements in code (`createServer`), write routing scripts
 * (`defineScript`), or load a `flowgate.yaml` and map its elements onto servers
 * (`loadConfig` + `elementOptions`).
 *
 * @example
 * ```ts
 * import { createServer, elementOptions, loadConfig } from 'flowgate';
 * const config = loadConfig('flowgate.yaml');
 * const edge = createServer(elementOptions(config, 'edge'));
 * await edge.listen();
 * ```
 */

export {
  type ElementOptions,
  type ElementRuntime,
  elementOptions,
  locationStoreConfig,
} from './config/element.js';
export { ConfigError, type ConfigIssue } from './config/errors.js';
export { defaultConfig, type LoadOptions, loadConfig, parseConfig } from './config/load.js';
export type { Config, ElementConfig, ModulesConfig } from './config/types.js';
export type { Binding, LocationStore } from './modules/location/binding.js';
export { createLocationStore, type LocationStoreConfig } from './modules/location/index.js';
export type { OutboundParams } from './modules/outbound/index.js';
export { type RegistrarParams, registrarModule } from './modules/registrar/index.js';
export type { RrParams } from './modules/rr/index.js';
export type { TmParams } from './proxy/types.js';
export { defineScript, type Route, type Script } from './script/api.js';
export type { ScriptContext } from './script/context.js';
export { type EdgeScriptParams, edgeProxyScript } from './script/edge-proxy.js';
export { registrarScript } from './script/registrar.js';
export { staticScript } from './script/static.js';
export {
  createServer,
  type FlowgateServer,
  type RegistrarFactory,
  type ServerOptions,
} from './server.js';
export type { TxTimers } from './transaction/types.js';
export type { FlowInfo, ListenConfig, ListenerInfo, Proto, TlsConfig } from './transport/types.js';
export type { Logger } from './util/logger.js';
