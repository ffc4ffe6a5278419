import type { ModuleExports, ModuleFunction } from '../contract.js';
import { PermissionGroup, type Permissions } from '../permissions/index.js';
import type { Pike } from '../pike/index.js';
import { Auth, type AuthParams, AuthRc, type CredentialStore } from './index.js';

const REQ = ['request', 'failure', 'branch-failure'] as const;

const AUTHORIZE_RC: ModuleFunction['returns'] = {
  [AuthRc.Ok]: 'authenticated',
  [AuthRc.Error]: 'an error, or the user is locked out',
  [AuthRc.InvalidPassword]: 'wrong password',
  [AuthRc.UserUnknown]: 'no such user',
  [AuthRc.StaleNonce]: 'the nonce expired: re-challenge with stale=true',
  [AuthRc.NoCredentials]: 'no credentials for the realm',
  [AuthRc.NonceReused]: 'the nonce count did not increase (a replay)',
};

const challenge = (name: string, doc: string): ModuleFunction => ({
  name,
  args: ['fmt', 'int'],
  routes: REQ,
  formats: [0],
  returns: { 1: 'challenge sent', [-1]: 'not sent (ACK, CANCEL or an error)' },
  doc,
});

const authorize = (name: string, doc: string): ModuleFunction => ({
  name,
  args: ['fmt', 'static'],
  async: true,
  routes: REQ,
  formats: [0],
  returns: AUTHORIZE_RC,
  doc,
});

/** Kamailio auth: digest challenges (RFC 3261 §22, RFC 7616, RFC 8760). */
export const authExports: ModuleExports = {
  name: 'auth',
  kind: 'flowgate',
  note: 'digest authentication (modules.auth)',
  config: 'auth',
  instance: 'auth',
  needs: ['clock', 'limitHit', 'logger', 'sendReply'],
  functions: [
    challenge('www_challenge', '401 with one WWW-Authenticate per algorithm.'),
    challenge('proxy_challenge', '407 with one Proxy-Authenticate per algorithm.'),
    challenge('auth_challenge', '401 for REGISTER, 407 otherwise.'),
    {
      name: 'consume_credentials',
      args: [],
      routes: REQ,
      returns: { 1: 'removed', [-1]: 'no verified credentials' },
      doc: 'The verified credentials are not forwarded.',
    },
    {
      name: 'has_credentials',
      args: ['fmt'],
      routes: REQ,
      formats: [0],
      returns: { 1: 'the request has credentials for the realm', [-1]: 'it has none' },
      doc: 'Whether the request carries credentials for the realm.',
    },
  ],
  params: [
    {
      name: 'secret',
      type: 'string',
      default: null,
      doc: 'Secret nonces are signed with; null: random per start.',
    },
    {
      name: 'nonce_expire',
      type: 'int',
      default: 300,
      unit: 'seconds',
      doc: 'Lifetime of a nonce; an older one gets stale=true.',
    },
    {
      name: 'nonce_count',
      type: 'flag',
      default: true,
      doc: 'Refuse a repeated or lower nonce count (replay).',
    },
    {
      name: 'nc_array_size',
      type: 'int',
      default: 1_048_576,
      unit: 'nonces',
      doc: 'Nonces whose nc is tracked at once.',
    },
    { name: 'qop', type: 'string', default: 'auth', doc: 'qop offered: auth or empty.' },
    {
      name: 'algorithm',
      type: 'string',
      doc: 'Kamailio algorithm: the one algorithm offered (flowgate: algorithms).',
      to: { special: 'auth.algorithm' },
    },
    {
      name: 'realm',
      type: 'string',
      default: null,
      doc: "Realm of challenges; null: the request's domain.",
    },
    {
      name: 'user_failures',
      type: 'int',
      default: 30,
      doc: 'Failed authentications of one user within user_failure_window before a lockout.',
    },
    {
      name: 'user_failure_window',
      type: 'int',
      default: 60,
      unit: 'seconds',
      doc: 'Window of user_failures.',
    },
    {
      name: 'user_lockout',
      type: 'int',
      default: 300,
      unit: 'seconds',
      doc: 'How long a locked-out user gets 403.',
    },
    {
      name: 'algorithms',
      type: 'list',
      default: ['MD5'],
      doc: 'Algorithms offered in a 401/407, in this order (RFC 8760).',
      yamlOnly: true,
    },
  ],
  // failed passwords count towards pike's per-source ban; permissions says who is an edge
  depends: ['permissions', 'pike'],
  create: (ctx) => {
    const p = ctx.params as { params: AuthParams; store: CredentialStore } | undefined;
    if (p === undefined) return undefined;
    const permissions = ctx.dep<Permissions>('permissions');
    const pike = ctx.dep<Pike>('pike');
    const auth = new Auth(ctx.services, p.params, p.store, {
      authFailure: (ip, port) => {
        // a client behind one of our edges is counted (and banned) at the edge, not here
        if (permissions?.allowSourceAddress(PermissionGroup.Edges, ip, port) !== true)
          pike?.authFailure(ip, port);
      },
    });
    return { instance: auth, close: () => p.store.close() };
  },
};

/** Kamailio auth_db: verifying credentials against the subscriber store. */
export const authDbExports: ModuleExports = {
  name: 'auth_db',
  kind: 'mapped',
  note: 'the credentials store (modules.auth_db)',
  config: 'auth_db',
  instance: 'auth',
  needs: [],
  functions: [
    authorize('www_authorize', 'Verifies Authorization against the subscriber store.'),
    authorize('www_authenticate', 'Alias of www_authorize.'),
    authorize('proxy_authorize', 'Verifies Proxy-Authorization against the subscriber store.'),
    authorize('proxy_authenticate', 'Alias of proxy_authorize.'),
    {
      name: 'auth_check',
      args: ['fmt', 'static', 'int'],
      async: true,
      routes: REQ,
      formats: [0],
      returns: {
        ...AUTHORIZE_RC,
        [AuthRc.UserMismatch]: 'the user is not the To (REGISTER) / From user',
      },
      doc: 'www for REGISTER, proxy otherwise; flag 1: the user must be the To/From user.',
    },
  ],
  params: [
    {
      name: 'db_url',
      type: 'string',
      doc: 'Where credentials live (sqlite path or redis URL).',
      to: { special: 'auth_db.db_url' },
    },
    { name: 'use_domain', type: 'flag', default: true, doc: 'Look users up by user and domain.' },
    {
      name: 'calculate_ha1',
      type: 'flag',
      doc: 'Kamailio: passwords in clear.',
      to: {
        none: 'flowgate stores HA1 values only (flowgate user add computes them from the password)',
      },
    },
    {
      name: 'load_credentials',
      type: 'string',
      doc: 'Kamailio: columns to load into AVPs.',
      to: { special: 'auth_db.load_credentials' },
    },
    {
      name: 'backend',
      type: 'string',
      default: 'sqlite',
      doc: 'Where credentials live: sqlite, redis or memory.',
      yamlOnly: true,
    },
    {
      name: 'path',
      type: 'string',
      default: 'subscriber.db',
      doc: 'SQLite file, relative to data_dir.',
      yamlOnly: true,
    },
    {
      name: 'url',
      type: 'string',
      doc: 'Redis URL (backend redis); see docs/redis.md.',
      yamlOnly: true,
    },
    { name: 'prefix', type: 'string', doc: 'Redis key prefix.', yamlOnly: true },
  ],
};
