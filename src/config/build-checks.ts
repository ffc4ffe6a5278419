import { isIP } from 'node:net';
import type { ListenConfig } from '../transport/types.js';
import type { PathIssue } from './build-common.js';
import { formatListen, isLoopback } from './listen.js';
import type { RawElement } from './schema.js';
import type { ElementConfig } from './types.js';

// Checks and fix-ups across elements, run by buildConfig once every element is built.

/** A registrar without `permissions.edges` trusts the addresses of this file's edge elements as its edges. */
export function defaultEdges(elements: Record<string, ElementConfig>): void {
  const edgeAddrs = new Set<string>();
  for (const el of Object.values(elements))
    if (el.edge !== undefined)
      for (const l of el.listen) {
        const a = l.address === '0.0.0.0' ? '127.0.0.1' : l.address === '::' ? '::1' : l.address;
        edgeAddrs.add(a);
      }
  if (edgeAddrs.size === 0) return;
  for (const [name, el] of Object.entries(elements)) {
    if (el.edge !== undefined || el.modules.permissions.edges.length > 0) continue;
    elements[name] = {
      ...el,
      modules: { ...el.modules, permissions: { ...el.modules.permissions, edges: [...edgeAddrs] } },
    };
  }
}

/**
 * Issue 10 §6: a SIP listener on a non-loopback address needs something that authenticates users:
 * the element loads auth, or it is an edge whose registrar element (in this file) does, or the file
 * says `allow_unauthenticated: true` (authentication happens in another process).
 */
export function checkPublic(
  rawElements: Readonly<Record<string, RawElement>>,
  elements: Readonly<Record<string, ElementConfig>>,
  issues: PathIssue[],
): void {
  for (const [name, el] of Object.entries(elements)) {
    if (el.allow_unauthenticated || el.modules.auth !== undefined) continue;
    const reg = el.edge?.registrar_element;
    if (reg !== undefined && elements[reg]?.modules.auth !== undefined) continue;
    const i = el.listen.findIndex((l) => !isLoopback(l.address));
    if (i < 0) continue;
    const l = el.listen[i] as ListenConfig;
    const re = rawElements[name];
    const path =
      re?.listen === undefined
        ? ['elements', name]
        : ['elements', name, 'listen', ...(Array.isArray(re.listen) ? [i] : [])];
    const fix =
      el.edge !== undefined
        ? `load authentication on its registrar (elements.${reg ?? '<registrar>'}.modules.auth: {}), or set elements.${name}.allow_unauthenticated: true when the registrar authenticates in another process`
        : `set elements.${name}.modules.auth: {} (and add users with flowgate user add), or elements.${name}.allow_unauthenticated: true to expose it without authentication`;
    issues.push({
      path,
      message: `${formatListen(l)} is not a loopback address and nothing authenticates the users of ${name}: ${fix}`,
    });
  }
}

/** Two listeners on one port: an error at the second, naming the first. */
export function checkPorts(
  rawElements: Readonly<Record<string, RawElement>>,
  listens: ReadonlyMap<string, readonly ListenConfig[]>,
  mgmt: { host: string; port: number } | undefined,
  issues: PathIssue[],
): void {
  interface Used {
    space: 'udp' | 'tcp';
    address: string;
    port: number;
    what: string;
    text: string;
  }
  const used: Used[] = [];
  const overlaps = (a: string, b: string): boolean => {
    if (a === b) return true;
    const fa = isIP(a);
    const fb = isIP(b);
    if (fa !== fb) return false;
    const any = fa === 6 ? '::' : '0.0.0.0';
    return a === any || b === any;
  };
  const take = (u: Used, path: readonly (string | number)[]): void => {
    if (u.port === 0) return;
    const clash = used.find(
      (o) => o.space === u.space && o.port === u.port && overlaps(o.address, u.address),
    );
    if (clash !== undefined) {
      issues.push({
        path,
        message: `${u.text} uses ${u.space === 'udp' ? 'UDP' : 'TCP'} port ${u.port}, already used by ${clash.what} (${clash.text})`,
      });
      return;
    }
    used.push(u);
  };
  for (const [name, ls] of listens) {
    const re = rawElements[name];
    const explicit = re?.listen !== undefined;
    ls.forEach((l, i) => {
      const path = explicit
        ? ['elements', name, 'listen', ...(Array.isArray(re?.listen) ? [i] : [])]
        : ['elements', name];
      take(
        {
          space: l.proto === 'udp' ? 'udp' : 'tcp',
          address: l.address,
          port: l.port,
          what: explicit
            ? `elements.${name}.listen[${i}]`
            : `elements.${name} (a default listener of its script)`,
          text: formatListen(l),
        },
        path,
      );
    });
  }
  if (mgmt !== undefined) {
    const addr = mgmt.host === 'localhost' ? '127.0.0.1' : mgmt.host;
    take(
      {
        space: 'tcp',
        address: addr,
        port: mgmt.port,
        what: 'management.listen',
        text: `management ${mgmt.host}:${mgmt.port}`,
      },
      ['management', 'listen'],
    );
  }
}
