import type { LocationStore } from '../location/binding.js';
import type { ProxyServices } from '../proxy-api.js';
import { type RegistrarParams, resolveRegistrarParams } from './params.js';
import { Registrar, type RegistrarOptions } from './registrar.js';

export { type Aor, type AorResult, extractAor } from './aor.js';
export { LookupRc, type RegistrarApi, SaveFlags, SaveRc, UnregisterRc } from './api.js';
export {
  type ErrorReplyContext,
  isRegistrarErrorCode,
  REG_ERRORS,
  type RegistrarErrorCode,
  type RegistrarErrorInfo,
  type RegistrarReply,
  registrarErrorReply,
} from './codes.js';
export {
  aorHashHex,
  coreHash,
  hashHex,
  parseTempGruuUser,
  pubGruu,
  type TempGruuParts,
  tempGruu,
} from './gruu.js';
export {
  DEFAULT_REGISTRAR_PARAMS,
  type RegistrarParams,
  type ResolvedRegistrarParams,
  registrarParamsSchema,
  resolveRegistrarParams,
} from './params.js';
export { Registrar, type RegistrarOptions } from './registrar.js';

/**
 * Builds the registrar for a server (`createServer({ registrar: registrarModule(params, store) })`).
 * Parameters are validated at once, so a bad configuration fails before the server starts. The
 * store is the caller's: open it before traffic arrives and close it after the server (pass it as
 * `location` to `createServer` to have the server close it).
 * @throws InvalidArgumentError for invalid parameters.
 */
export function registrarModule(
  params: RegistrarParams,
  store: LocationStore,
  options: RegistrarOptions = {},
): (core: ProxyServices, outbound?: unknown) => Registrar {
  // validate now, not when the first request arrives
  const resolved = resolveRegistrarParams(params);
  return (core: ProxyServices) => new Registrar(core, store, resolved, options);
}
