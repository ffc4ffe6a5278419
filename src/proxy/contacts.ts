import type { BranchTarget, LoadedContact, RequestContext } from './context.js';

/** Return codes of the tm contact functions (Kamailio t_serial.c). */
export const ContactsRc = { Ok: 1, Error: -1, NoContacts: -2, BadType: -3 } as const;

/** Unspecified q sorts below every specified one (outbound.md §2.9). */
function qOf(t: BranchTarget): number {
  return t.q ?? -1;
}

/**
 * `t_load_contacts()`: moves the R-URI destination (if new) and every branch into the contacts
 * list, ordered by q descending (equal q keeps its order), each class's last entry flagged
 * (outbound.md §2.9). Unlike Kamailio, a single destination is loaded too (decision Q-R7), so
 * `t_next_contacts()` can route it.
 */
export function loadContacts(ctx: RequestContext): number {
  const all: BranchTarget[] = [];
  if (ctx.ruriIsNew) all.push(ctx.ruriTarget());
  all.push(...ctx.branches);
  if (all.length === 0) return ContactsRc.Error;
  // stable sort: equal q keeps lookup order (oldest binding first)
  const sorted = all.map((t, i) => ({ t, i })).sort((a, b) => qOf(b.t) - qOf(a.t) || a.i - b.i);
  const out: LoadedContact[] = sorted.map(({ t }, k) => {
    const next = sorted[k + 1];
    return { ...t, qFlag: next === undefined || qOf(next.t) < qOf(t) };
  });
  ctx.avps.contacts = out;
  ctx.avps.contactFlows = [];
  ctx.branches = [];
  ctx.ruriIsNew = false;
  return ContactsRc.Ok;
}

function apply(ctx: RequestContext, c: LoadedContact): void {
  ctx.ruri = c.uri;
  ctx.resetDestination();
  ctx.du = c.du;
  ctx.pathVector = c.path;
  ctx.flowId = c.flowId;
  ctx.listenerId = c.listenerId;
  ctx.attrs = {
    ruid: c.ruid,
    instance: c.instance,
    regId: c.regId,
    q: c.q,
    userAgent: c.userAgent,
  };
}

/**
 * `t_next_contacts()`: takes the next q-class from the contacts list: the first contact becomes the
 * R-URI destination, the others of the class become branches, except further flows of an instance
 * already in the set, which wait in the contact-flows list for `t_next_contact_flow()`
 * (RFC 5626 §5.3: one flow per instance at a time).
 */
export function nextContacts(ctx: RequestContext): number {
  const list = ctx.avps.contacts;
  const first = list.shift();
  if (first === undefined) return ContactsRc.NoContacts;
  apply(ctx, first);
  if (first.qFlag) return ContactsRc.Ok;
  const seen = new Set<string>();
  if (first.instance !== undefined) seen.add(first.instance);
  ctx.avps.contactFlows = [];
  for (;;) {
    const c = list.shift();
    if (c === undefined) break;
    if (c.instance !== undefined && seen.has(c.instance)) ctx.avps.contactFlows.push(c);
    else {
      const { qFlag: _q, ...target } = c;
      ctx.branches.push(target);
      if (c.instance !== undefined) seen.add(c.instance);
    }
    if (c.qFlag) break;
  }
  return ContactsRc.Ok;
}

/**
 * `t_next_contact_flow()` (branch-failure route): adds the next waiting flow of the failed branch's
 * instance as a new branch (RFC 5626 §5.3 / §7: try another flow of the same instance).
 * 1 added; -1 none for this instance; -2 the branch has no instance or nothing is waiting.
 */
export function nextContactFlow(ctx: RequestContext): number {
  const b = ctx.tx?.branches[ctx.branchIndex];
  const inst = b?.target.instance;
  if (inst === undefined) return ContactsRc.NoContacts;
  const flows = ctx.avps.contactFlows;
  if (flows.length === 0) return ContactsRc.NoContacts;
  const i = flows.findIndex((f) => f.instance === inst);
  if (i < 0) return ContactsRc.Error;
  const [f] = flows.splice(i, 1);
  if (f !== undefined) ctx.branches.push(f);
  return ContactsRc.Ok;
}
