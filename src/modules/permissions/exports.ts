import type { ModuleExports } from '../contract.js';
import { PermissionGroup, Permissions } from './index.js';

/** The element's address groups (`ServerOptions.permissions`). */
interface PermissionsOptions {
  readonly trusted?: readonly string[] | undefined;
  readonly edges?: readonly string[] | undefined;
  readonly registrars?: readonly string[] | undefined;
}

/** Kamailio permissions: address groups (trusted peers, edges, registrars). Always loaded. */
export const permissionsExports: ModuleExports = {
  name: 'permissions',
  kind: 'flowgate',
  note: 'allow_source_address (modules.permissions)',
  config: 'permissions',
  needs: [],
  functions: [
    {
      name: 'allow_source_address',
      args: ['int'],
      optional: 1,
      returns: { 1: 'the source address is in the group', [-1]: 'it is not' },
      doc: 'The source is in the group (1 trusted peers, 2 edges, 3 registrars; default 1).',
    },
  ],
  params: [
    {
      name: 'trusted',
      type: 'list',
      default: [],
      doc: 'Trusted peers: not challenged, not rate-limited (group 1).',
      to: { special: 'permissions.trusted' },
    },
    {
      name: 'edges',
      type: 'list',
      doc: "The edges in front of this registrar (group 2); default: the file's edges.",
      to: { special: 'permissions.edges' },
    },
  ],
  scriptEnv: 'permissions',
  // always created: the groups may be empty
  create: (ctx) => {
    const p = ctx.params as PermissionsOptions | undefined;
    const permissions = new Permissions({
      [PermissionGroup.Trusted]: p?.trusted ?? [],
      [PermissionGroup.Edges]: p?.edges ?? [],
      [PermissionGroup.Registrars]: p?.registrars ?? [],
    });
    // the addresses a registrar name resolves to are registrars too (group 3)
    const registrar = ctx.element.registrarSource;
    if (registrar !== undefined) permissions.addMatcher(PermissionGroup.Registrars, registrar);
    return { instance: permissions };
  },
};
