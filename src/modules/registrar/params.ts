import { z } from 'zod';
import { InvalidArgumentError } from '../../errors/index.js';

/** An on/off parameter: Kamailio writes 0/1, config files may write booleans. */
export type Flag = 0 | 1 | boolean;

/**
 * `modparam("registrar", …)` and the usrloc parameters the registrar drives, with Kamailio's names
 * (outbound.md §2 intro). Every field is optional; {@link resolveRegistrarParams} fills in the
 * defaults of {@link DEFAULT_REGISTRAR_PARAMS}.
 */
export interface RegistrarParams {
  /** Store the REGISTER's Path with the binding and route through it on lookup (RFC 3327). Default 0. */
  readonly use_path?: Flag | undefined;
  /**
   * Path in replies when `use_path`: 0 = never echo, never reject; 1 = echo only when the UA lists
   * `path` in Supported; 2 = strict: echo, and reject a Path the UA does not support with 420
   * (RFC 3327 §5.3; nothing is stored: decision Q-R3). Default 2.
   */
  readonly path_mode?: 0 | 1 | 2 | undefined;
  /** Hand out pub-gruu / temp-gruu (RFC 5627) in 200 OK Contacts. Default 1. */
  readonly gruu_enabled?: Flag | undefined;
  /**
   * RFC 5626: 0 = outbound not supported (420 for `Require: outbound`); 1 = supported; 2 =
   * required (421 when the UA's Supported lacks `outbound`). Default 0.
   */
  readonly outbound_mode?: 0 | 1 | 2 | undefined;
  /** 1 = use reg-id even when the first hop did not apply outbound (skips the 439 check). Default 0. */
  readonly regid_mode?: Flag | undefined;
  /** Seconds for `Flow-Timer` in 2xx when outbound applies (RFC 5626 §4.4.1); 0 = none. Default 0. */
  readonly flow_timer?: number | undefined;
  /** Expiry (s) when neither the Contact nor an Expires header gives one. Default 3600. */
  readonly default_expires?: number | undefined;
  /** Shortest expiry (s) granted (RFC 3261 §10.3 step 7). Default 60. */
  readonly min_expires?: number | undefined;
  /** Longest expiry (s) granted; 0 = no cap. Default 0. */
  readonly max_expires?: number | undefined;
  /** 0 = raise a too-short expiry to `min_expires`; 1 = answer 423 with Min-Expires. Default 0. */
  readonly min_expires_mode?: Flag | undefined;
  /** Most bindings per AoR; 0 = unlimited (more → 503). Default 0. */
  readonly max_contacts?: number | undefined;
  /** q (thousandths, 0..1000) for contacts without q; -1 (or undefined) = leave unspecified. Default -1. */
  readonly default_q?: number | undefined;
  /** 1: lookup adds every further binding as a branch. Default 1. */
  readonly append_branches?: Flag | undefined;
  /**
   * 1 (flowgate default, decision Q-R6): the AoR user part is kept as written (RFC 3261 §19.1.4),
   * the host lower-cased; 0: the whole AoR is lower-cased (Kamailio's default).
   */
  readonly case_sensitive?: Flag | undefined;
  /** 1: lookup skips bindings whose methods (Contact `methods` / Allow) exclude the request's. Default 0. */
  readonly method_filtering?: Flag | undefined;
  /** Longest Contact URI (and `received`, capped at 255) accepted, bytes. Default 512. */
  readonly contact_max_size?: number | undefined;
  /** Seconds for `Retry-After` on 5xx replies; 0 = none. Default 0. */
  readonly retry_after?: number | undefined;
  /** usrloc `use_domain`: the AoR is `user@host` instead of `user`. Default 0. */
  readonly use_domain?: Flag | undefined;
  /** usrloc `cseq_delay`: an equal CSeq within this many seconds is a retransmission (200). Default 20. */
  readonly cseq_delay?: number | undefined;
  /**
   * flowgate: how many temp-GRUUs one binding keeps valid (RFC 5627 §5.4: a new one per refresh, the
   * earlier ones valid until the Call-ID changes); the oldest beyond this are dropped. Default 32.
   */
  readonly temp_gruu_max?: number | undefined;
}

type FlagKeys =
  | 'use_path'
  | 'gruu_enabled'
  | 'regid_mode'
  | 'min_expires_mode'
  | 'append_branches'
  | 'case_sensitive'
  | 'method_filtering'
  | 'use_domain';

/** {@link RegistrarParams} with every default applied; flags as 0/1. */
export type ResolvedRegistrarParams = {
  readonly [K in keyof RegistrarParams]-?: K extends FlagKeys
    ? 0 | 1
    : Exclude<RegistrarParams[K], undefined>;
};

/** The defaults (Kamailio's, except `case_sensitive`: decision Q-R6). */
export const DEFAULT_REGISTRAR_PARAMS: ResolvedRegistrarParams = Object.freeze({
  use_path: 0,
  path_mode: 2,
  gruu_enabled: 1,
  outbound_mode: 0,
  regid_mode: 0,
  flow_timer: 0,
  default_expires: 3600,
  min_expires: 60,
  max_expires: 0,
  min_expires_mode: 0,
  max_contacts: 0,
  default_q: -1,
  append_branches: 1,
  case_sensitive: 1,
  method_filtering: 0,
  contact_max_size: 512,
  retry_after: 0,
  use_domain: 0,
  cseq_delay: 20,
  temp_gruu_max: 32,
});

const flag = z.union([z.literal(0), z.literal(1), z.boolean()]);
const seconds = z.number().int().min(0).max(0xffffffff);

/** zod schema of {@link RegistrarParams} (config files: `modules.registrar.params`). Unknown keys are errors. */
export const registrarParamsSchema = z.strictObject({
  use_path: flag.optional(),
  path_mode: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  gruu_enabled: flag.optional(),
  outbound_mode: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  regid_mode: flag.optional(),
  flow_timer: seconds.optional(),
  default_expires: seconds.optional(),
  min_expires: seconds.optional(),
  max_expires: seconds.optional(),
  min_expires_mode: flag.optional(),
  max_contacts: z.number().int().min(0).optional(),
  default_q: z.number().int().min(-1).max(1000).optional(),
  append_branches: flag.optional(),
  case_sensitive: flag.optional(),
  method_filtering: flag.optional(),
  contact_max_size: z.number().int().min(1).optional(),
  retry_after: seconds.optional(),
  use_domain: flag.optional(),
  cseq_delay: seconds.optional(),
  temp_gruu_max: z.number().int().min(1).max(10_000).optional(),
});

/**
 * Validates registrar parameters and applies the defaults.
 * @throws InvalidArgumentError naming the offending parameter.
 */
export function resolveRegistrarParams(params: RegistrarParams = {}): ResolvedRegistrarParams {
  const r = registrarParamsSchema.safeParse(params);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue === undefined ? '' : issue.path.join('.');
    throw new InvalidArgumentError(
      `registrar: invalid parameter ${where}: ${issue?.message ?? 'invalid'}`,
      { cause: r.error },
    );
  }
  const out: Record<string, number> = { ...DEFAULT_REGISTRAR_PARAMS };
  for (const [k, v] of Object.entries(r.data))
    if (v !== undefined) out[k] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  const p = out as ResolvedRegistrarParams;
  if (p.max_expires > 0 && p.max_expires < p.min_expires) {
    throw new InvalidArgumentError(
      `registrar: max_expires (${p.max_expires}) is below min_expires (${p.min_expires})`,
    );
  }
  if (p.default_expires === 0)
    throw new InvalidArgumentError('registrar: default_expires must be > 0');
  return Object.freeze(p);
}
