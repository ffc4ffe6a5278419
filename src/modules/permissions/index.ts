import { isIP } from 'node:net';
import { parseSipUriStrict } from '../../message/parse/uri.js';
import { AddressSet } from '../../util/address-set.js';

/** Address groups of `allow_source_address(group)` (Kamailio permissions' address table). */
export const PermissionGroup = {
  /** Trusted peers: gateways and other proxies; not challenged, not rate-limited. */
  Trusted: 1,
  /** Edge proxies in front of a registrar: challenged (their clients are), but never banned as a source. */
  Edges: 2,
  /** An edge's registrars: the only sources whose requests the edge routes towards its clients. */
  Registrars: 3,
} as const;

/**
 * Who a request comes from, by its source address (Kamailio `permissions`): the decision "is this
 * the registrar / a trusted peer" is never taken from message content such as the number of Vias.
 */
export class Permissions {
  readonly #groups = new Map<number, AddressSet>();
  /** Checks of groups whose members change at run time (a registrar name's DNS addresses). */
  readonly #matchers = new Map<number, ((ip: string, port: number) => boolean)[]>();

  /** @param groups address specs per group (see {@link parseAddressSpec}); throws on a bad one. */
  constructor(groups: Readonly<Record<number, readonly string[]>>) {
    for (const [g, list] of Object.entries(groups))
      if (list.length > 0) this.#groups.set(Number(g), AddressSet.of(list));
  }

  /**
   * Adds a check to a group, for members known only at run time (the addresses a registrar's
   * host name resolves to): a source it accepts is in the group.
   */
  addMatcher(group: number, match: (ip: string, port: number) => boolean): void {
    const list = this.#matchers.get(group);
    if (list === undefined) this.#matchers.set(group, [match]);
    else list.push(match);
  }

  /** `allow_source_address(group)`: the source is in the group. */
  allowSourceAddress(group: number, ip: string, port: number): boolean {
    if (this.#groups.get(group)?.has(ip, port) === true) return true;
    return this.#matchers.get(group)?.some((f) => f(ip, port)) === true;
  }

  /** Peers that are exempt from per-source limits (trusted peers, edges, registrars). */
  exempt(ip: string, port: number): boolean {
    for (const s of this.#groups.values()) if (s.has(ip, port)) return true;
    for (const list of this.#matchers.values()) if (list.some((f) => f(ip, port))) return true;
    return false;
  }

  /** The specs of a group, as configured. */
  specs(group: number): readonly string[] {
    return this.#groups.get(group)?.specs.map((s) => s.text) ?? [];
  }
}

/**
 * The source addresses an edge takes for its registrar (permissions group 3): the registrar URI's
 * IP and port over UDP (a registrar sends from its listening socket), its IP alone over TCP/TLS
 * (connections come from ephemeral ports). A host name gives none: list the registrar's addresses
 * in `permissions.trusted` then.
 */
export function registrarSources(uri: string): string[] {
  const u = parseSipUriStrict(uri);
  if (!u.ok) return [];
  const host = u.value.hostname;
  const hosts = host === 'localhost' ? ['127.0.0.1', '::1'] : isIP(host) !== 0 ? [host] : [];
  const tp = u.value.transport?.toLowerCase() ?? (u.value.scheme === 'sips' ? 'tls' : 'udp');
  const port = u.value.port ?? (tp === 'tls' ? 5061 : 5060);
  return hosts.map((h) =>
    tp === 'udp' ? (h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`) : h,
  );
}
