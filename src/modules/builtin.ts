import type { ModuleExports, ModuleFunction, RouteKind } from './contract.js';

// Kamailio modules whose job flowgate's core does (tm, sl, xlog, …) and the ones whose loading
// only configures something (tls, ctl, db_*): declared here so the registry lists every module a
// configuration may load.

const REQ: readonly RouteKind[] = ['request', 'failure', 'branch-failure'];
const ANY: readonly RouteKind[] = ['request', 'failure', 'branch-failure', 'reply'];
const XHTTP: readonly RouteKind[] = ['xhttp'];

const OK = { 1: 'done' } as const;
const SENT = { 1: 'sent', [-1]: 'not sent (an ACK, a final reply already sent, or an error)' };
const TEST = { 1: 'true', [-1]: 'false' } as const;

/** Core functions: no `loadmodule` needed. */
export const coreExports: ModuleExports = {
  name: 'core',
  kind: 'builtin',
  note: 'core functions (always there)',
  needs: ['isMyself', 'limits', 'limitHit'],
  notInCfg: 'the core is always there',
  functions: [
    { name: 'setflag', args: ['int'], routes: REQ, returns: OK, doc: 'Sets a message flag.' },
    { name: 'resetflag', args: ['int'], routes: REQ, returns: OK, doc: 'Clears a message flag.' },
    { name: 'isflagset', args: ['int'], routes: REQ, returns: TEST, doc: 'Tests a message flag.' },
    {
      name: 'append_branch',
      args: ['fmt'],
      optional: 1,
      routes: REQ,
      returns: { 1: 'added', [-1]: 'the destination set is full' },
      doc: 'Adds a destination (the current Request-URI without an argument).',
    },
    {
      name: 'is_myself',
      args: ['fmt'],
      formats: [0],
      routes: [...ANY, 'xhttp'],
      returns: TEST,
      doc: 'The URI names this element (host and port; never a GRUU).',
    },
    {
      name: 'set_reply_close',
      args: [],
      routes: XHTTP,
      returns: OK,
      doc: 'xhttp route only: flowgate closes connections itself.',
      cfgOnly: true,
    },
    {
      name: 'set_reply_no_connect',
      args: [],
      routes: XHTTP,
      returns: OK,
      doc: 'xhttp route only: flowgate never connects to answer.',
      cfgOnly: true,
    },
  ],
  params: [],
};

/** Kamailio tm: transactions, in flowgate's proxy core. */
export const tmExports: ModuleExports = {
  name: 'tm',
  kind: 'flowgate',
  note: 'transactions (the proxy core)',
  config: 'tm',
  needs: ['relay', 'newTran', 'checkTrans', 'tReply'],
  functions: [
    {
      name: 't_relay',
      args: [],
      routes: REQ,
      returns: {
        1: 'at least one branch left',
        0: 'a retransmission (absorbed; the script ends)',
        [-1]: 'no branch could be sent (sl_reply_error sends why)',
      },
      doc: 'Relays the request statefully to its destination set.',
    },
    {
      name: 't_newtran',
      args: [],
      routes: REQ,
      returns: { 1: 'created', [-1]: 'not created (exists, or an error)' },
      doc: 'Creates the server transaction now.',
    },
    {
      name: 't_check_trans',
      args: [],
      routes: ANY,
      returns: { 1: 'a transaction matches', [-1]: 'none does' },
      doc: 'Whether the message belongs to a transaction (a retransmission is absorbed).',
    },
    {
      name: 't_on_failure',
      args: ['failure-route'],
      routes: REQ,
      returns: OK,
      doc: 'Arms a failure_route for the transaction.',
    },
    {
      name: 't_on_branch_failure',
      args: ['branch-failure-route'],
      routes: REQ,
      returns: OK,
      doc: 'Arms an event_route[tm:branch-failure:NAME] for each failed branch.',
    },
    {
      name: 't_branch_timeout',
      args: [],
      routes: ANY,
      returns: TEST,
      doc: 'The failed branch timed out.',
    },
    {
      name: 't_branch_replied',
      args: [],
      routes: ANY,
      returns: TEST,
      doc: 'The failed branch got a reply.',
    },
    {
      name: 't_check_status',
      args: ['regex'],
      routes: ANY,
      returns: TEST,
      doc: 'The relevant reply status matches the regular expression.',
    },
    {
      name: 't_load_contacts',
      args: [],
      routes: REQ,
      returns: { 1: 'loaded', [-1]: 'nothing to load' },
      doc: 'Orders the destination set by q for serial forking.',
    },
    {
      name: 't_next_contacts',
      args: [],
      routes: REQ,
      returns: { 1: 'the next q-group is the destination set', [-1]: 'none left' },
      doc: 'Takes the next group of equal q.',
    },
    {
      name: 't_next_contact_flow',
      args: [],
      routes: REQ,
      returns: { 1: 'the next flow of the instance', [-1]: 'none left' },
      doc: 'Takes the next flow of the same instance (RFC 5626 §5.3).',
    },
    {
      name: 't_reply',
      args: ['int', 'fmt'],
      routes: REQ,
      returns: SENT,
      doc: 'Replies statefully.',
    },
  ],
  params: [
    {
      name: 'failure_reply_mode',
      type: 'int',
      default: 3,
      doc: 'Which earlier replies count after a failure route adds branches.',
    },
    {
      name: 'restart_fr_on_each_reply',
      type: 'flag',
      default: true,
      doc: 'Every provisional reply restarts fr_inv_timer.',
    },
    {
      name: 'fr_timer',
      type: 'int',
      default: 30_000,
      unit: 'milliseconds',
      doc: 'Timer B/F: how long a branch waits for any reply.',
    },
    {
      name: 'fr_inv_timer',
      type: 'int',
      default: 120_000,
      unit: 'milliseconds',
      doc: 'Timer C: how long an INVITE branch waits for a final reply.',
    },
    {
      name: 'retr_timer1',
      type: 'int',
      default: 500,
      unit: 'milliseconds',
      doc: 'T1: first UDP retransmission interval.',
    },
    {
      name: 'retr_timer2',
      type: 'int',
      default: 4000,
      unit: 'milliseconds',
      doc: 'T2: longest retransmission interval.',
    },
    {
      name: 'auto_inv_100',
      type: 'flag',
      default: true,
      doc: 'Send 100 Trying when an INVITE transaction is created.',
    },
    {
      name: 'contacts_avp',
      type: 'string',
      default: 'tm_contacts',
      doc: 'Accepted for compatibility (no AVP needed).',
    },
    {
      name: 'contact_flows_avp',
      type: 'string',
      default: 'tm_contact_flows',
      doc: 'Accepted for compatibility (no AVP needed).',
    },
  ],
};

/** Kamailio sl: stateless replies, in flowgate's proxy core. */
export const slExports: ModuleExports = {
  name: 'sl',
  kind: 'builtin',
  note: 'stateless replies (the proxy core)',
  needs: ['replyStateless', 'sendReply', 'replyError'],
  functions: [
    {
      name: 'sl_send_reply',
      args: ['int', 'fmt'],
      routes: REQ,
      returns: SENT,
      doc: 'Replies statelessly.',
    },
    {
      name: 'send_reply',
      args: ['int', 'fmt'],
      routes: REQ,
      returns: SENT,
      doc: 'Replies statefully when a transaction exists, else statelessly.',
    },
    {
      name: 'sl_reply_error',
      args: [],
      routes: REQ,
      returns: SENT,
      doc: 'Replies with the error of the last failed function (500 when none).',
    },
  ],
  params: [],
};

/** The log level each `xinfo()`-style shorthand of xlog logs at. */
export const XLOG_LEVEL: Readonly<Record<string, string>> = {
  xdbg: 'L_DBG',
  xinfo: 'L_INFO',
  xnotice: 'L_NOTICE',
  xwarn: 'L_WARN',
  xerr: 'L_ERR',
  xbug: 'L_BUG',
  xcrit: 'L_CRIT',
  xalert: 'L_ALERT',
};

const shorthand = (name: string): ModuleFunction => ({
  name,
  args: ['fmt'],
  method: 'xlog',
  formats: [0],
  returns: OK,
  doc: `xlog("${XLOG_LEVEL[name]}", format).`,
});

/** Kamailio xlog, through flowgate's logger. */
export const xlogExports: ModuleExports = {
  name: 'xlog',
  kind: 'builtin',
  note: "xlog, logged through flowgate's logger",
  needs: ['logger'],
  functions: [
    {
      name: 'xlog',
      args: ['level', 'fmt'],
      optional: 1,
      formats: [1],
      returns: OK,
      doc: 'Logs the format with $pv substituted (one argument: at L_ERR).',
    },
    ...Object.keys(XLOG_LEVEL).map(shorthand),
  ],
  params: [],
};

/** Kamailio domain: is_domain_local over flowgate's own names. */
export const domainExports: ModuleExports = {
  name: 'domain',
  kind: 'builtin',
  note: 'is_domain_local over the alias= names and listen addresses',
  needs: ['isDomainLocal'],
  functions: [
    {
      name: 'is_domain_local',
      args: ['fmt'],
      formats: [0],
      returns: TEST,
      doc: 'The domain (any port) is one this element serves.',
    },
  ],
  params: [],
};

/** Kamailio websocket: keep-alive of WebSocket flows (the handshake is the transport's). */
export const websocketExports: ModuleExports = {
  name: 'websocket',
  kind: 'flowgate',
  note: "WebSocket keep-alive (modules.websocket); the handshake is flowgate's WebSocket transport",
  config: 'websocket',
  needs: [],
  functions: [
    {
      name: 'ws_handle_handshake',
      args: [],
      routes: XHTTP,
      returns: OK,
      doc: "xhttp route only: flowgate's WebSocket transport answers the upgrade itself.",
      cfgOnly: true,
    },
  ],
  params: [
    {
      name: 'keepalive_timeout',
      type: 'int',
      default: 180,
      unit: 'seconds',
      doc: 'Idleness before a keep-alive Ping; an unanswered Ping closes the flow.',
    },
    {
      name: 'keepalive_interval',
      type: 'int',
      default: 1,
      unit: 'seconds',
      doc: 'Seconds between keep-alive checks.',
    },
  ],
};

/** Kamailio xhttp: the HTTP upgrade is flowgate's WebSocket transport. */
export const xhttpExports: ModuleExports = {
  name: 'xhttp',
  kind: 'builtin',
  note: "HTTP upgrade to WebSocket: flowgate's WebSocket transport",
  needs: [],
  functions: [
    {
      name: 'xhttp_reply',
      args: ['int', 'fmt', 'fmt', 'fmt'],
      routes: XHTTP,
      returns: OK,
      doc: 'xhttp route only: the transport answers HTTP requests itself.',
      cfgOnly: true,
    },
  ],
  params: [],
};

const NO_MANAGEMENT_SOCKET = 'the management API is HTTP with a bearer token, not a socket file';

/** Kamailio ctl: the management API. */
export const ctlExports: ModuleExports = {
  name: 'ctl',
  kind: 'mapped',
  note: 'the management API (binrpc "tcp:host:port" → HTTP there)',
  needs: [],
  functions: [],
  params: [
    {
      name: 'binrpc',
      type: 'string',
      doc: 'Where the management API listens.',
      to: { special: 'ctl.binrpc' },
    },
    { name: 'mode', type: 'string', doc: 'Socket file mode.', to: { none: NO_MANAGEMENT_SOCKET } },
    { name: 'user', type: 'string', doc: 'Socket file owner.', to: { none: NO_MANAGEMENT_SOCKET } },
    {
      name: 'group',
      type: 'string',
      doc: 'Socket file group.',
      to: { none: NO_MANAGEMENT_SOCKET },
    },
  ],
};

/** Kamailio tls: certificate and key of tls: listeners. */
export const tlsExports: ModuleExports = {
  name: 'tls',
  kind: 'mapped',
  note: 'certificate and key of tls: listeners',
  needs: [],
  functions: [],
  params: [
    {
      name: 'certificate',
      type: 'string',
      doc: 'Certificate file (PEM).',
      to: { special: 'tls.certificate' },
    },
    {
      name: 'private_key',
      type: 'string',
      doc: 'Private key file (PEM).',
      to: { special: 'tls.private_key' },
    },
    {
      name: 'ca_list',
      type: 'string',
      doc: 'CA certificates to verify peers with.',
      to: { special: 'tls.ca_list' },
    },
  ],
};

/** A module whose loading has no effect in flowgate: its job is built in. */
const builtin = (name: string, note: string): ModuleExports => ({
  name,
  kind: 'builtin',
  note,
  needs: [],
  functions: [],
  params: [],
});

export const dbTextExports = builtin('db_text', 'only as the db_url of auth_db / usrloc');
export const dbSqliteExports = builtin('db_sqlite', 'only as the db_url of auth_db / usrloc');
export const dbRedisExports = builtin('db_redis', 'only as the db_url of auth_db / usrloc');
export const stunExports = builtin(
  'stun',
  'STUN on UDP listeners: always on in flowgate (RFC 5626 §8)',
);
export const pvExports = builtin('pv', 'pseudo-variables');
export const tmxExports = builtin('tmx', 'tm extensions ($T_reply_ruid)');
export const kexExports = builtin('kex', 'core extensions');
export const corexExports = builtin('corex', 'core extensions');
export const jsonrpcsExports = builtin(
  'jsonrpcs',
  "RPC over HTTP: flowgate's management API answers instead",
);
export const miFifoExports = builtin(
  'mi_fifo',
  "RPC over a FIFO: flowgate's management API answers instead",
);
