export { type BuildContext, buildConfig, DEFAULT_ELEMENTS, type PathIssue } from './build.js';
export { checkConfig } from './check.js';
export {
  BUILTIN_SCRIPTS,
  EDGE_DEFAULTS,
  ELEMENT_DEFAULTS,
  MODULE_DEFAULTS,
  PROFILES,
  ROOT_DEFAULTS,
  type ScriptProfile,
} from './defaults.js';
export {
  builtinScript,
  type ElementOptions,
  type ElementRuntime,
  elementConfig,
  elementOptions,
  locationStoreConfig,
  registrarParams,
} from './element.js';
export { ConfigError, type ConfigIssue, formatIssue, formatPath } from './errors.js';
export { formatListen, isLoopback, type ListenEntry, parseListen } from './listen.js';
export {
  DEFAULT_CONFIG_NAME,
  defaultConfig,
  knownKeys,
  type LoadOptions,
  loadConfig,
  parseConfig,
} from './load.js';
export { configSchema, type RawConfig, type RawElement } from './schema.js';
export { loadScriptFile, ScriptLoadError } from './script-file.js';
export type * from './types.js';
