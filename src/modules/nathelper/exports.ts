import type { ModuleExports } from '../contract.js';
import { Nathelper, type NathelperParams } from './index.js';

const REQ = ['request', 'failure', 'branch-failure'] as const;

/** Kamailio nathelper: UAs behind NAT that do not use RFC 5626. */
export const nathelperExports: ModuleExports = {
  name: 'nathelper',
  kind: 'flowgate',
  note: 'NAT helpers (modules.nathelper)',
  config: 'nathelper',
  instance: 'nathelper',
  needs: ['clock', 'relayedFinalHooks', 'strayResponseHooks', 'transport'],
  functions: [
    {
      name: 'nat_uac_test',
      args: ['int'],
      routes: REQ,
      returns: { 1: 'a test of the flags says the UA is behind NAT', [-1]: 'none does' },
      doc: 'Tests whether the UA is behind NAT (flags: 1 Contact private, 2 Via received, …).',
    },
    {
      name: 'fix_nated_contact',
      args: [],
      routes: REQ,
      returns: { 1: 'rewritten', [-1]: 'no Contact, or an error' },
      doc: 'The first Contact gets the source address.',
    },
    {
      name: 'fix_nated_register',
      args: [],
      routes: REQ,
      returns: { 1: 'added', [-1]: 'not a REGISTER, no Contact, or it has received already' },
      doc: 'The first Contact gets `;received="<source>"` for the registrar.',
    },
    {
      name: 'add_contact_alias',
      args: [],
      routes: REQ,
      returns: { 1: 'added', [-1]: 'no Contact, or an error' },
      doc: 'Adds ;alias=ip~port~proto of the source to the first Contact URI.',
    },
    {
      name: 'handle_ruri_alias',
      args: [],
      routes: REQ,
      returns: {
        1: 'routed by the alias',
        [-1]: 'no SIP Request-URI alias',
        [-2]: 'a malformed alias',
      },
      doc: "Routes by the Request-URI's ;alias and removes it.",
    },
    {
      name: 'nat_keepalive',
      args: [],
      routes: REQ,
      returns: { 1: 'the UA will be pinged', [-1]: 'not a UDP REGISTER, or natping_interval is 0' },
      doc: "Pings the registering UDP UA's NAT binding while its registration lasts.",
    },
  ],
  params: [
    {
      name: 'natping_interval',
      type: 'int',
      default: 0,
      unit: 'seconds',
      doc: 'Seconds between keep-alive OPTIONS (0 = no pinging).',
    },
    {
      name: 'keepalive_timeout',
      type: 'int',
      default: 0,
      unit: 'seconds',
      doc: 'A pinged UA silent this long is gone (0 = never).',
    },
    {
      name: 'sipping_from',
      type: 'string',
      default: 'sip:pinger@flowgate.invalid',
      doc: 'From URI of the keep-alive OPTIONS.',
    },
  ],
  create: (ctx) => {
    const p = ctx.params as NathelperParams | undefined;
    if (p === undefined) return undefined;
    const nathelper = new Nathelper(ctx.services, p);
    // a pinged UA that stopped answering: its flow tokens fail with 430 at once (RFC 5626 §5.3.1)
    ctx.element.setUdpFlowGone((listenerId, address, port) =>
      nathelper.isGone(listenerId, address, port),
    );
    return { instance: nathelper };
  },
};
