import { BanTable } from '../../util/ban-table.js';

/** `modparam("pike", …)` plus failed-authentication bans (seconds). */
export interface PikeParams {
  readonly sampling_time_unit: number;
  readonly reqs_density_per_unit: number;
  readonly ban_time: number;
  readonly auth_failures: number;
  readonly auth_failure_window: number;
}

/** `pike_check_req()` return codes (Kamailio pike). */
export const PikeRc = {
  Ok: 1,
  /** The source was already banned. */
  Blocked: -1,
  /** The source crossed the limit with this request. */
  NewlyBlocked: -2,
} as const;

/** What pike reports to the element (metrics and the one log line per ban). */
export interface PikeEvents {
  /** A source was banned; `why` is `rate` or `auth`. */
  banned(ip: string, why: 'rate' | 'auth', detail: string): void;
  /** A request of a banned source was dropped. */
  dropped(ip: string): void;
}

/**
 * Per-source abuse limits (Kamailio `pike`, plus the ban on failed authentications that Kamailio
 * configurations build with htable): a source sending more than `reqs_density_per_unit` requests
 * within `sampling_time_unit`, or failing authentication more than `auth_failures` times within
 * `auth_failure_window`, is ignored for `ban_time`. Exempt sources (trusted peers, edges,
 * registrars) are never counted. Keyed by IP only: a NAT's ports are one source.
 */
export class Pike {
  readonly params: PikeParams;
  readonly #requests: BanTable;
  readonly #auth: BanTable;
  readonly #exempt: (ip: string, port: number) => boolean;
  readonly #events: PikeEvents;

  constructor(
    params: PikeParams,
    now: () => number,
    exempt: (ip: string, port: number) => boolean,
    events: PikeEvents,
  ) {
    this.params = params;
    const ban = params.ban_time * 1000;
    this.#requests = new BanTable(
      params.reqs_density_per_unit,
      params.sampling_time_unit * 1000,
      ban,
      now,
    );
    this.#auth = new BanTable(params.auth_failures, params.auth_failure_window * 1000, ban, now);
    this.#exempt = exempt;
    this.#events = events;
  }

  /**
   * Counts one request from `ip`; negative (drop it) when the source is banned. Whether the source
   * is exempt is asked only when it is or would be banned, so the common path is one map lookup;
   * an exempt peer (by address and port) passes even when other sources got its IP banned.
   */
  checkRequest(ip: string, port: number): number {
    if (this.#auth.banned(ip)) return this.#onBanned(ip, port);
    const v = this.#requests.hit(ip);
    if (v === 'ok') return PikeRc.Ok;
    if (v === 'banned-now') {
      if (this.#exempt(ip, port)) {
        this.#requests.pardon(ip);
        return PikeRc.Ok;
      }
      this.#events.banned(
        ip,
        'rate',
        `more than ${this.params.reqs_density_per_unit} requests in ${this.params.sampling_time_unit} s`,
      );
      this.#events.dropped(ip);
      return PikeRc.NewlyBlocked;
    }
    return this.#onBanned(ip, port);
  }

  /**
   * A request from an address banned already: dropped, unless it comes from an exempt peer on
   * that address (a registrar on the clients' host), which is still served.
   */
  #onBanned(ip: string, port: number): number {
    if (this.#exempt(ip, port)) return PikeRc.Ok;
    this.#events.dropped(ip);
    return PikeRc.Blocked;
  }

  /** A failed authentication from `ip`. */
  authFailure(ip: string, port: number): void {
    if (this.#exempt(ip, port)) return;
    if (this.#auth.hit(ip) === 'banned-now')
      this.#events.banned(
        ip,
        'auth',
        `more than ${this.params.auth_failures} failed authentications in ${this.params.auth_failure_window} s`,
      );
  }

  /** `ip` is banned now. */
  isBanned(ip: string): boolean {
    return this.#requests.banned(ip) || this.#auth.banned(ip);
  }

  /** Sources banned now, by cause. */
  activeBans(): { rate: number; auth: number } {
    return { rate: this.#requests.activeBans(), auth: this.#auth.activeBans() };
  }
}
