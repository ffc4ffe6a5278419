import { PrometheusText } from './prometheus.js';
import { registrarsOf } from './registrars.js';
import type { StoreMetrics } from './timed-store.js';
import { flowsOf, flowTokenFailuresOf, type ManagedElement, transportStatsOf } from './view.js';

/** Process facts for `flowgate_build_info` and the start time. */
export interface ProcessInfo {
  readonly version: string;
  /** Wall-clock ms at start. */
  readonly startedAt: number;
}

/**
 * The `/metrics` exposition: counters from each element's proxy core (`core.stats`), transaction
 * counts, flows and transport counters, bindings per location store, store latency.
 */
export async function renderMetrics(
  elements: readonly ManagedElement[],
  store: StoreMetrics,
  info: ProcessInfo,
): Promise<string> {
  const t = new PrometheusText();
  t.family('flowgate_build_info', 'gauge', 'Version of flowgate and of Node.js.');
  t.sample('flowgate_build_info', { version: info.version, node: process.version }, 1);
  t.family(
    'flowgate_start_time_seconds',
    'gauge',
    'Start of the process, seconds since the epoch.',
  );
  t.sample('flowgate_start_time_seconds', undefined, Math.floor(info.startedAt / 1000));

  t.family(
    'flowgate_requests_total',
    'counter',
    'Requests received (new transactions and stateless requests), by method.',
  );
  t.family(
    'flowgate_replies_total',
    'counter',
    'Replies sent by the element (local and relayed), by status code.',
  );
  t.family(
    'flowgate_transactions_active',
    'gauge',
    'Transactions in the transaction table, by side (server, client).',
  );
  t.family('flowgate_flows', 'gauge', 'Flows (connections and UDP peers) by transport.');
  t.family('flowgate_bindings', 'gauge', "Unexpired bindings in the element's location store.");
  t.family(
    'flowgate_keepalives_total',
    'counter',
    'Keep-alives answered (crlf, ws-crlf, ws-ping, stun).',
  );
  t.family('flowgate_flow_failed_430_total', 'counter', '430 Flow Failed replies sent.');
  t.family(
    'flowgate_flow_token_failures_total',
    'counter',
    'Requests whose flow token was broken or named no socket of ours (loose_route -2).',
  );
  t.family(
    'flowgate_messages_dropped_total',
    'counter',
    'Datagrams, frames or messages the transport dropped, by reason.',
  );
  t.family('flowgate_messages_received_total', 'counter', 'SIP messages received, by transport.');
  t.family('flowgate_messages_sent_total', 'counter', 'SIP messages sent, by transport.');
  t.family(
    'flowgate_connections_refused_total',
    'counter',
    'Connections refused at accept, by reason.',
  );
  t.family('flowgate_connections_closed_total', 'counter', 'Connections closed, by reason.');
  t.family('flowgate_script_errors_total', 'counter', 'Exceptions thrown by the routing script.');
  t.family(
    'flowgate_limit_refusals_total',
    'counter',
    'Requests, branches and sources refused by an abuse limit, by limit (server_transactions, client_transactions, branches, pike, auth_source, auth_user, dialog_signature, banned_dropped).',
  );
  t.family(
    'flowgate_stray_responses_total',
    'counter',
    'Responses that matched no transaction, dropped (never relayed by their Via).',
  );
  t.family(
    'flowgate_auth_results_total',
    'counter',
    'Credential checks by outcome (ok, invalid_password, unknown_user, stale, replay, locked_out, ...).',
  );
  t.family('flowgate_auth_challenges_total', 'counter', '401/407 challenges sent.');
  t.family(
    'flowgate_bans_active',
    'gauge',
    'Sources (pike: rate, auth) and users (auth_user) banned now.',
  );
  t.family(
    'flowgate_registrar_up',
    'gauge',
    "1 when an edge's registrar is up (requests go to it), 0 when it is down (skipped until it answers a probe).",
  );
  t.family(
    'flowgate_registrar_failovers_total',
    'counter',
    'Requests that left a registrar for the next one (503, transport error or no answer in time).',
  );
  t.family(
    'flowgate_next_hop_failovers_total',
    'counter',
    'Requests sent on to the next address of their destination (RFC 3263 §4.3; registrar sets included).',
  );

  t.family(
    'flowgate_transactions_unindexed_total',
    'counter',
    'Finished transactions left out of the retransmission index: keys that share hash places (crafted branches); their retransmissions are handled as new requests.',
  );

  for (const e of elements) {
    const element = e.server.name;
    const stats = e.server.core.stats;
    for (const [method, n] of Object.entries(stats.requests))
      t.sample('flowgate_requests_total', { element, method }, n);
    for (const [code, n] of Object.entries(stats.replies))
      t.sample('flowgate_replies_total', { element, code }, n);
    t.sample(
      'flowgate_transactions_active',
      { element, side: 'server' },
      e.server.layer.serverCount,
    );
    t.sample(
      'flowgate_transactions_active',
      { element, side: 'client' },
      e.server.layer.clientCount,
    );
    t.sample(
      'flowgate_transactions_unindexed_total',
      { element },
      e.server.layer.retiredUnindexed ?? 0,
    );
    const byProto = new Map<string, number>();
    for (const l of e.server.transport.listeners) byProto.set(l.proto, 0);
    for (const f of flowsOf(e)) byProto.set(f.proto, (byProto.get(f.proto) ?? 0) + 1);
    for (const [transport, n] of byProto) t.sample('flowgate_flows', { element, transport }, n);
    if (e.location !== undefined) {
      try {
        t.sample('flowgate_bindings', { element }, await e.location.count());
      } catch {
        // a store that is down: no sample (the store error counter moves)
      }
    }
    const ts = transportStatsOf(e);
    if (ts !== undefined) {
      for (const [kind, n] of Object.entries(ts.keepalives))
        t.sample('flowgate_keepalives_total', { element, kind }, n);
      for (const [reason, n] of Object.entries(ts.drops))
        t.sample('flowgate_messages_dropped_total', { element, reason }, n);
      for (const [transport, n] of Object.entries(ts.messagesIn))
        t.sample('flowgate_messages_received_total', { element, transport }, n);
      for (const [transport, n] of Object.entries(ts.messagesOut))
        t.sample('flowgate_messages_sent_total', { element, transport }, n);
      for (const [reason, n] of Object.entries(ts.connectionsRefused))
        t.sample('flowgate_connections_refused_total', { element, reason }, n);
      for (const [reason, n] of Object.entries(ts.connectionsClosed))
        t.sample('flowgate_connections_closed_total', { element, reason }, n);
    }
    t.sample('flowgate_flow_failed_430_total', { element }, stats.flowFailed430);
    t.sample('flowgate_flow_token_failures_total', { element }, flowTokenFailuresOf(e));
    t.sample('flowgate_script_errors_total', { element }, stats.scriptErrors);
    for (const [limit, n] of Object.entries(stats.limits))
      t.sample('flowgate_limit_refusals_total', { element, limit }, n);
    t.sample('flowgate_stray_responses_total', { element }, stats.strayResponses);
    t.sample('flowgate_next_hop_failovers_total', { element }, stats.nextHopFailovers ?? 0);
    for (const r of registrarsOf(e)) {
      t.sample('flowgate_registrar_up', { element, registrar: r.uri }, r.state === 'up' ? 1 : 0);
      t.sample('flowgate_registrar_failovers_total', { element, registrar: r.uri }, r.failovers);
    }
    const auth = e.server.auth;
    if (auth !== undefined) {
      for (const [result, n] of Object.entries(auth.stats.results))
        t.sample('flowgate_auth_results_total', { element, result }, n);
      t.sample('flowgate_auth_challenges_total', { element }, auth.stats.challenges);
      t.sample('flowgate_bans_active', { element, kind: 'auth_user' }, auth.activeLockouts());
    }
    const pike = e.server.pike;
    if (pike !== undefined) {
      const b = pike.activeBans();
      t.sample('flowgate_bans_active', { element, kind: 'rate' }, b.rate);
      t.sample('flowgate_bans_active', { element, kind: 'auth' }, b.auth);
    }
  }

  t.family(
    'flowgate_store_op_seconds',
    'histogram',
    'Location store operation latency, by store and operation.',
  );
  store.latency.writeTo(t, 'flowgate_store_op_seconds');
  t.family(
    'flowgate_store_errors_total',
    'counter',
    'Location store operations that failed, by store and operation.',
  );
  for (const e of store.errors())
    t.sample('flowgate_store_errors_total', { store: e.store, op: e.op }, e.n);
  return t.toString();
}
