// The console's four views. Tables on a wide screen; on a phone each row becomes a card whose
// cells carry their column name (console.css, data-label).
import type {
  ConsoleBinding,
  ConsoleFlow,
  ConsoleTransaction,
  Listed,
  PathTokenJson,
} from '../../src/manage/console/types.js';
import { RateChart, type RateSeries } from './chart.js';
import { ago, bare, duration, rate } from './format.js';

/** What a row's button asks for; the page confirms it first. */
export type Action =
  | { readonly kind: 'close-flow'; readonly flow: ConsoleFlow }
  | { readonly kind: 'unregister'; readonly binding: ConsoleBinding };

function Counted<T>(props: { readonly list: Listed<T>; readonly noun: string }) {
  const { list, noun } = props;
  const n = list.rows.length;
  const total = list.total === null ? 'an unknown number' : String(list.total);
  return (
    <p class="counted">
      <small>
        {list.truncated ? `Showing ${n} of ${total} ${noun}.` : `${n} ${noun}.`}
        {list.truncated ? ' Search to narrow them down.' : ''}
      </small>
    </p>
  );
}

function Empty(props: { readonly children: string }) {
  return (
    <p class="empty">
      <em>{props.children}</em>
    </p>
  );
}

/** Live flows: connections and UDP peers, with the bindings each one carries. */
export function FlowsView(props: {
  readonly flows: Listed<ConsoleFlow>;
  readonly now: number;
  readonly act: (a: Action) => void;
}) {
  const { flows, now } = props;
  if (flows.rows.length === 0) return <Empty>No flows.</Empty>;
  return (
    <>
      <Counted list={flows} noun="flows" />
      <div class="overflow-auto">
        <table class="striped rows">
          <thead>
            <tr>
              <th>Transport</th>
              <th>Peer</th>
              <th>Local</th>
              <th>Age</th>
              <th>Last keep-alive</th>
              <th>Bindings</th>
              <th>Element</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {flows.rows.map((f) => (
              <tr
                key={`${f.element}|${f.id}`}
                data-flow={f.id}
                data-peer={f.peer}
                data-aors={f.bindings.map((b) => b.aor).join(' ')}
              >
                <td data-label="Transport">
                  <div>
                    <mark class={`proto proto-${f.transport}`}>{f.transport.toUpperCase()}</mark>
                    {f.outgoing ? <small> out</small> : null}
                    {f.state !== 'open' ? <small> {f.state}</small> : null}
                  </div>
                </td>
                <td data-label="Peer">
                  <div>
                    <code>{f.peer}</code>
                  </div>
                </td>
                <td data-label="Local">
                  <div>
                    <code>{f.local}</code>
                  </div>
                </td>
                <td data-label="Age">
                  <div>{duration(now - f.opened_at)}</div>
                </td>
                <td data-label="Last keep-alive">
                  <div>{ago(f.last_keepalive_at, now)}</div>
                </td>
                <td data-label="Bindings">
                  <div>
                    {f.bindings.length === 0
                      ? '—'
                      : f.bindings.map((b) => (
                          <div key={b.ruid}>
                            <code>{b.aor}</code>
                          </div>
                        ))}
                    {f.binding_count > f.bindings.length ? (
                      <small>and {f.binding_count - f.bindings.length} more</small>
                    ) : null}
                  </div>
                </td>
                <td data-label="Element">
                  <div>{f.element}</div>
                </td>
                <td class="actions">
                  {f.transport === 'udp' ? (
                    <small title="UDP has no connection to close">—</small>
                  ) : (
                    <button
                      type="button"
                      class="outline contrast small"
                      onClick={() => props.act({ kind: 'close-flow', flow: f })}
                    >
                      Close flow
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function PathEntry(props: { readonly p: PathTokenJson }) {
  const { p } = props;
  let what: string;
  switch (p.token) {
    case 'valid':
      what = `flow ${p.transport?.toUpperCase()} ${p.remote} → ${p.local} at ${p.edge}: ${
        p.flow === null || p.flow === undefined ? 'gone' : `open (${p.flow})`
      }`;
      break;
    case 'broken':
      what = 'flow token not signed by this edge (another edge, or tampered)';
      break;
    case 'unknown':
      what = 'no edge in this process to decode the token';
      break;
    default:
      what = 'no flow token';
  }
  return (
    <div class={`path path-${p.token}${p.flow === null ? ' path-gone' : ''}`}>
      <code>{p.uri}</code>
      <br />
      <small>{what}</small>
    </div>
  );
}

/** Bindings (the location service), with the Path's flow token decoded. */
export function BindingsView(props: {
  readonly bindings: Listed<ConsoleBinding>;
  readonly now: number;
  readonly act: (a: Action) => void;
}) {
  const { bindings, now } = props;
  if (bindings.rows.length === 0) return <Empty>No bindings.</Empty>;
  return (
    <>
      <Counted list={bindings} noun="bindings" />
      <div class="overflow-auto">
        <table class="striped rows">
          <thead>
            <tr>
              <th>AoR</th>
              <th>Contact</th>
              <th>reg-id</th>
              <th>Instance</th>
              <th>Expires in</th>
              <th>Path (flow token)</th>
              <th>User agent</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {bindings.rows.map((b) => (
              <tr key={b.ruid} data-aor={b.aor} data-ruid={b.ruid}>
                <td data-label="AoR">
                  <div>
                    <strong>{b.aor}</strong>
                    {b.element === '' ? null : <small class="muted"> {b.element}</small>}
                  </div>
                </td>
                <td data-label="Contact">
                  <div>
                    <code>{b.contact}</code>
                    {b.received === null ? null : (
                      <div>
                        <small>received {b.received}</small>
                      </div>
                    )}
                  </div>
                </td>
                <td data-label="reg-id">
                  <div>{b.reg_id === 0 ? '—' : b.reg_id}</div>
                </td>
                <td data-label="Instance">
                  <div>
                    <small>{bare(b.instance)}</small>
                  </div>
                </td>
                <td data-label="Expires in">
                  <div>{duration(b.expires_at - now)}</div>
                </td>
                <td data-label="Path (flow token)">
                  <div>
                    {b.path.length === 0 ? (
                      <small>{b.flow === null ? 'direct' : `direct, flow ${b.flow}`}</small>
                    ) : (
                      b.path.map((p) => <PathEntry key={p.uri} p={p} />)
                    )}
                  </div>
                </td>
                <td data-label="User agent">
                  <div>
                    <small>{b.user_agent ?? '—'}</small>
                  </div>
                </td>
                <td class="actions">
                  <button
                    type="button"
                    class="outline contrast small"
                    onClick={() => props.act({ kind: 'unregister', binding: b })}
                  >
                    Unregister
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Transactions still waiting for their final response. */
export function TransactionsView(props: {
  readonly transactions: Listed<ConsoleTransaction>;
  readonly now: number;
}) {
  const { transactions, now } = props;
  if (transactions.rows.length === 0) return <Empty>No transaction in progress.</Empty>;
  return (
    <>
      <Counted list={transactions} noun="transactions in progress" />
      <div class="overflow-auto">
        <table class="striped rows">
          <thead>
            <tr>
              <th>Method</th>
              <th>Kind</th>
              <th>State</th>
              <th>Last status</th>
              <th>From → To</th>
              <th>Peer</th>
              <th>Age</th>
              <th>Element</th>
            </tr>
          </thead>
          <tbody>
            {transactions.rows.map((t) => (
              <tr key={`${t.element}|${t.kind}|${t.call_id}|${t.started_at}|${t.peer}`}>
                <td data-label="Method">
                  <div>
                    <strong>{t.method}</strong>
                  </div>
                </td>
                <td data-label="Kind">
                  <div>
                    <small>{t.kind.endsWith('st') ? 'server' : 'client'}</small>{' '}
                    <code>{t.kind}</code>
                  </div>
                </td>
                <td data-label="State">
                  <div>{t.state}</div>
                </td>
                <td data-label="Last status">
                  <div>{t.status === 0 ? '—' : t.status}</div>
                </td>
                <td data-label="From → To">
                  <div>
                    <code>{t.from ?? '?'}</code> → <code>{t.to ?? t.ruri ?? '?'}</code>
                    {t.call_id === null ? null : (
                      <div>
                        <small>Call-ID {t.call_id}</small>
                      </div>
                    )}
                  </div>
                </td>
                <td data-label="Peer">
                  <div>
                    <code>{t.peer ?? '—'}</code>
                  </div>
                </td>
                <td data-label="Age">
                  <div>{duration(now - t.started_at)}</div>
                </td>
                <td data-label="Element">
                  <div>{t.element}</div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Request and reply rates of each element over the last 15 minutes. */
export function ChartsView(props: {
  readonly series: Readonly<Record<string, RateSeries>>;
  readonly totals: Readonly<Record<string, { requests: number; replies: number }>>;
  readonly revision: number;
}) {
  const names = Object.keys(props.series);
  if (names.length === 0) return <Empty>No rate samples yet.</Empty>;
  return (
    <div class="charts">
      {names.map((name) => {
        const s = props.series[name] as RateSeries;
        const last = s.t.length - 1;
        const tot = props.totals[name];
        return (
          <article key={name}>
            <RateChart title={name} series={s} revision={props.revision} />
            <footer>
              <small>
                now {rate(s.requests[last])} requests/s, {rate(s.replies[last])} replies/s
                {tot === undefined
                  ? ''
                  : ` · since start ${tot.requests} requests, ${tot.replies} replies`}
              </small>
            </footer>
          </article>
        );
      })}
    </div>
  );
}
