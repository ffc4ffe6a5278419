import type { Auth } from '../modules/auth/index.js';
import type { Nathelper } from '../modules/nathelper/index.js';
import type { Outbound } from '../modules/outbound/index.js';
import type { PathModule } from '../modules/path/index.js';
import type { Permissions } from '../modules/permissions/index.js';
import type { Pike } from '../modules/pike/index.js';
import type { ScriptProxy } from '../modules/proxy-api.js';
import type { RegistrarApi } from '../modules/registrar/api.js';
import type { RecordRoute } from '../modules/rr/index.js';
import type { Logger } from '../util/logger.js';

/**
 * Everything the script context reaches: the proxy (through the narrow interface modules use)
 * and the loaded modules, each at the key its registry entry names (`ModuleExports.instance`;
 * absent = not loaded).
 */
export interface ScriptEnv {
  readonly core: ScriptProxy;
  readonly logger: Logger;
  readonly rr?: RecordRoute | undefined;
  readonly path?: PathModule | undefined;
  readonly outbound?: Outbound | undefined;
  readonly registrar?: RegistrarApi | undefined;
  readonly auth?: Auth | undefined;
  readonly pike?: Pike | undefined;
  readonly permissions?: Permissions | undefined;
  readonly nathelper?: Nathelper | undefined;
  /** sanity `autodrop` (default true): a failed check ends the script (Kamailio returns 0). */
  readonly sanityAutodrop?: boolean | undefined;
  /** Option tags this proxy supports (for the Proxy-Require check). */
  readonly supported?: readonly string[] | undefined;
  /**
   * Runs a named route of the script with the script context (typed loosely here, as a method,
   * so this file needs no import of the context: `scriptHandlers` passes a `ScriptContext`).
   */
  runRoute(name: string, ctx: object): void | Promise<void>;
}
