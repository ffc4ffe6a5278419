import type { ModuleExports, ModuleParam } from '../contract.js';
import type { Outbound } from '../outbound/index.js';
import type { ProxyServices } from '../proxy-api.js';
import { LookupRc, type RegistrarApi, SaveRc, UnregisterRc } from './api.js';

/** Builds a registrar for an element (`ServerOptions.registrar`; see `registrarModule`). */
export type RegistrarFactory = (
  core: ProxyServices,
  outbound: Outbound | undefined,
) => RegistrarApi & { close?(): Promise<void> };

const REQ = ['request', 'failure', 'branch-failure'] as const;

const reg = (
  name: string,
  type: ModuleParam['type'],
  def: NonNullable<ModuleParam['default']>,
  doc: string,
  unit?: string,
): ModuleParam => ({ name, type, default: def, doc, ...(unit === undefined ? {} : { unit }) });

/** Kamailio registrar: REGISTER processing and lookups (RFC 3261 §10, RFC 5626 §6, RFC 5627). */
export const registrarExports: ModuleExports = {
  name: 'registrar',
  kind: 'flowgate',
  note: 'save / lookup / unregister (modules.registrar)',
  config: 'registrar',
  instance: 'registrar',
  needs: ['clock', 'logger', 'replyStateless', 'transport'],
  functions: [
    {
      name: 'save',
      args: ['table', 'int'],
      optional: 1,
      async: true,
      routes: REQ,
      returns: {
        [SaveRc.Inserted]: 'a binding was added',
        [SaveRc.Updated]: 'a binding was refreshed',
        [SaveRc.Deleted]: 'a binding was removed',
        [SaveRc.Listed]: 'the bindings were listed (a query)',
        [SaveRc.Error]: 'an error (the reply was sent)',
        [SaveRc.TooMany]: 'too many contacts',
      },
      doc: 'Processes a REGISTER and replies to it (flag 0x02: no reply).',
    },
    {
      name: 'lookup',
      args: ['table', 'fmt'],
      optional: 1,
      async: true,
      routes: REQ,
      formats: [1],
      returns: {
        [LookupRc.Found]: 'contacts found: the Request-URI (and branches) set',
        [LookupRc.NotFound]: 'no contact',
        [LookupRc.MethodNotAllowed]: 'contacts exist, none accepts the method',
        [LookupRc.Internal]: 'an internal error',
      },
      doc: "Sets the Request-URI to the AoR's contacts (of the R-URI, or of the given URI).",
    },
    {
      name: 'unregister',
      args: ['table', 'fmt', 'fmt'],
      optional: 1,
      async: true,
      routes: REQ,
      formats: [1, 2],
      returns: {
        [UnregisterRc.Removed]: 'removed',
        [UnregisterRc.BadInput]: 'a malformed AoR',
        [UnregisterRc.StoreFailure]: 'the store failed',
        [UnregisterRc.NotFound]: 'no such binding',
      },
      doc: 'Removes the bindings of an AoR (or one, by ruid).',
    },
  ],
  params: [
    reg('default_expires', 'int', 3600, 'Expires used when a REGISTER gives none.', 'seconds'),
    reg('min_expires', 'int', 60, 'Shortest expiry granted (0 = no minimum).', 'seconds'),
    reg('min_expires_mode', 'flag', false, '0: raise a too-short expiry; 1: answer 423.'),
    reg('max_expires', 'int', 0, 'Longest expiry granted (0 = no cap).', 'seconds'),
    reg('max_contacts', 'int', 0, 'Most bindings per AoR (0 = unlimited).'),
    reg('default_q', 'int', -1, 'q for contacts without one, in thousandths (-1: none).'),
    reg('append_branches', 'flag', true, 'lookup() adds every further contact as a branch.'),
    reg('case_sensitive', 'flag', true, 'Keep the AoR user part as written.'),
    reg(
      'method_filtering',
      'flag',
      false,
      'lookup() skips contacts that do not accept the method.',
    ),
    reg('contact_max_size', 'int', 512, 'Longest Contact URI accepted.', 'bytes'),
    reg('retry_after', 'int', 0, 'Retry-After on 5xx replies (0 = none).', 'seconds'),
    reg('use_path', 'flag', false, 'Store Path headers and route through them (RFC 3327).'),
    reg('path_mode', 'int', 2, 'Path in replies: 0 never, 1 when supported, 2 strict.'),
    reg('gruu_enabled', 'flag', true, 'Hand out GRUUs (RFC 5627).'),
    reg('outbound_mode', 'int', 0, 'RFC 5626 support: 0 none, 1 supported, 2 required.'),
    reg(
      'regid_mode',
      'flag',
      false,
      '1: use reg-id even when the first hop did not apply outbound.',
    ),
    reg('flow_timer', 'int', 0, 'Flow-Timer written in 2xx (0 = none).', 'seconds'),
    reg('temp_gruu_max', 'int', 32, 'Temp-GRUUs one binding keeps valid (flowgate).'),
  ],
  // usrloc first so that it closes after: the registrar writes bindings until it is closed
  depends: ['outbound', 'usrloc'],
  create: (ctx) => {
    const factory = ctx.params as RegistrarFactory | undefined;
    if (factory === undefined) return undefined;
    const registrar = factory(ctx.services, ctx.dep<Outbound>('outbound'));
    return { instance: registrar, close: () => registrar.close?.() };
  },
};
