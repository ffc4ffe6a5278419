import { networkInterfaces } from 'node:os';
import type { SipUri } from '../message/parse/uri.js';
import type { ListenerInfo } from '../transport/types.js';

/**
 * Which addresses are this element's own (Kamailio `check_self`, `is_domain_local`): its aliases,
 * its listeners' addresses and advertised names, and every interface address behind a wildcard
 * listener.
 */
export class Myself {
  readonly #aliases: Set<string>;
  readonly #transport: { readonly listeners: readonly ListenerInfo[] };
  #localAddrs: Set<string> | undefined;

  /** @param transport read at each call: its listeners are known only once it listens */
  constructor(
    aliases: readonly string[],
    transport: { readonly listeners: readonly ListenerInfo[] },
  ) {
    this.#aliases = new Set(aliases.map((a) => a.toLowerCase()));
    this.#transport = transport;
  }

  /** Kamailio `check_self`: the URI's host is one of our addresses or aliases (any transport), with a matching port; never for a GRUU. */
  isMyself(uri: SipUri): boolean {
    if (uri.params.has('gr')) return false;
    const host = uri.hostname;
    const port = uri.port ?? (uri.scheme === 'sips' || uri.transport === 'tls' ? 5061 : 5060);
    if (this.#aliases.has(host)) return true;
    for (const l of this.#transport.listeners) {
      const adv = l.advertise;
      if (
        adv !== undefined &&
        adv.host.toLowerCase().replace(/^\[|\]$/g, '') === host &&
        (adv.port === port || uri.port === undefined)
      )
        return true;
      if (l.port !== port) continue;
      const a = l.address.toLowerCase();
      if (a === host) return true;
      if ((a === '0.0.0.0' || a === '::') && this.#localAddresses().has(host)) return true;
    }
    return false;
  }

  /**
   * Kamailio `is_domain_local`: the host (any port) is one of our aliases, listening addresses or
   * advertised names: a domain this element serves.
   */
  isDomainLocal(host: string): boolean {
    const h = host.toLowerCase().replace(/^\[|\]$/g, '');
    if (this.#aliases.has(h)) return true;
    for (const l of this.#transport.listeners) {
      if (l.advertise !== undefined && l.advertise.host.toLowerCase().replace(/^\[|\]$/g, '') === h)
        return true;
      const a = l.address.toLowerCase();
      if (a === h) return true;
      if ((a === '0.0.0.0' || a === '::') && this.#localAddresses().has(h)) return true;
    }
    return false;
  }

  #localAddresses(): Set<string> {
    if (this.#localAddrs === undefined) {
      this.#localAddrs = new Set(['127.0.0.1', '::1', 'localhost']);
      for (const list of Object.values(networkInterfaces()))
        for (const i of list ?? []) this.#localAddrs.add(i.address.toLowerCase());
    }
    return this.#localAddrs;
  }
}
