import { quote } from '../../message/parse/chars.js';
import type { Binding } from '../location/binding.js';
import type { Aor } from './aor.js';
import { pubGruu, tempGruu } from './gruu.js';
import type { ResolvedRegistrarParams } from './params.js';
import type { RegisterPlan } from './plan.js';

/** q in thousandths as a qvalue: `1`, `0`, `0.5`, `0.25`, `0.125` (RFC 3261 §25.1). */
export function formatQ(q: number): string {
  return String(q / 1000);
}

/**
 * One binding as a 200 OK Contact value (outbound.md §2.6 rule 1), parameters in Kamailio's order:
 * `q`, `expires` (seconds left, RFC 3261 §10.3 step 8), `received`, `pub-gruu` + `temp-gruu`
 * (RFC 5627 §5.4: only when `gruu` applies), `+sip.instance`, `reg-id`.
 */
export function formatBindingContact(b: Binding, now: number, gruuAor: Aor | undefined): string {
  let s = `<${b.contact}>`;
  if (b.q !== undefined) s += `;q=${formatQ(b.q)}`;
  s += `;expires=${Math.max(0, Math.ceil((b.expires - now) / 1000))}`;
  if (b.received !== undefined) s += `;received=${quote(b.received)}`;
  if (gruuAor !== undefined && b.instance !== undefined) {
    s += `;pub-gruu=${quote(pubGruu(gruuAor, b.instance))}`;
    const latest = b.tempGruus[b.tempGruus.length - 1];
    if (latest !== undefined)
      s += `;temp-gruu=${quote(tempGruu(b.ruid, b.aor, gruuAor.host, latest))}`;
  }
  if (b.instance !== undefined) s += `;+sip.instance=${quote(b.instance)}`;
  if (b.regId > 0) s += `;reg-id=${b.regId}`;
  return s;
}

/**
 * The header lines of a successful REGISTER's 200 OK (outbound.md §2.6 rules 1-3, with decision
 * Q-R4): one Contact line listing every valid binding, the Path echo, then the outbound tags.
 */
export function successHeaders(
  plan: RegisterPlan,
  bindings: readonly Binding[],
  now: number,
  outboundApplied: boolean,
  p: ResolvedRegistrarParams,
): string[] {
  const out: string[] = [];
  // RFC 5627 §5.4: GRUUs only for a UA that lists `gruu` in Supported
  const gruuAor = p.gruu_enabled === 1 && plan.supportsGruu ? plan.aor : undefined;
  // RFC 3261 §10.3 step 8: the 200 OK lists all current bindings (one string, no lists in between)
  let contact = '';
  for (const b of bindings) {
    if (b.expires <= now) continue;
    contact += `${contact === '' ? 'Contact: ' : ', '}${formatBindingContact(b, now, gruuAor)}`;
  }
  if (contact !== '') out.push(contact);
  // RFC 3327 §5.3: echo the Path (path_mode 2: always, the UA supports it; 1: only when supported)
  if (
    plan.pathEcho !== undefined &&
    (p.path_mode === 2 || (p.path_mode === 1 && plan.supportsPath))
  ) {
    out.push(`Path: ${plan.pathEcho}`);
  }
  if (p.outbound_mode === 1) {
    out.push('Supported: outbound');
    // decision Q-R4 / RFC 5626 §6: Require only when outbound was applied to a binding
    if (outboundApplied) {
      out.push('Require: outbound');
      if (p.flow_timer > 0) out.push(`Flow-Timer: ${p.flow_timer}`);
    }
  } else if (p.outbound_mode === 2) {
    out.push('Require: outbound', 'Supported: outbound');
    if (p.flow_timer > 0) out.push(`Flow-Timer: ${p.flow_timer}`);
  }
  return out;
}
