// The console page: a login form (the management token), then the live views, fed by the event
// stream. Writes (unregister a binding, close a flow) go to the management API's /v1 routes after a
// confirmation.
import { useEffect, useRef, useState } from 'preact/hooks';
import type {
  ConsoleRatePoint,
  ConsoleRates,
  ConsoleState,
} from '../../src/manage/console/types.js';
import { ApiError, call, type LiveStatus, login, logout, openEvents, savedToken } from './api.js';
import type { RateSeries } from './chart.js';
import { type Action, BindingsView, ChartsView, FlowsView, TransactionsView } from './views.js';

const TABS = ['flows', 'bindings', 'transactions', 'rates'] as const;
type Tab = (typeof TABS)[number];

function tabFromHash(): Tab {
  const h = location.hash.replace(/^#/, '');
  return (TABS as readonly string[]).includes(h) ? (h as Tab) : 'flows';
}

/** The page: the login form until a token is accepted, then the live console. */
export function App() {
  const [token, setToken] = useState<string | undefined>(savedToken());
  const [why, setWhy] = useState<string | undefined>(undefined);
  if (token === undefined) return <Login reason={why} onLogin={setToken} />;
  return (
    <Live
      token={token}
      onLogout={(reason) => {
        setWhy(reason);
        setToken(undefined);
      }}
    />
  );
}

function Login(props: {
  readonly reason: string | undefined;
  readonly onLogin: (t: string) => void;
}) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>(props.reason);
  const [busy, setBusy] = useState(false);
  const submit = (e: Event): void => {
    e.preventDefault();
    const t = value.trim();
    if (t === '') return;
    setBusy(true);
    login(t)
      .then(() => props.onLogin(t))
      .catch((err: unknown) => {
        setError(
          err instanceof ApiError && err.status === 401
            ? 'This is not the management token.'
            : err instanceof Error
              ? err.message
              : String(err),
        );
        setBusy(false);
      });
  };
  return (
    <main class="container login">
      <article>
        <header>
          <h1>flowgate console</h1>
        </header>
        <form onSubmit={submit} id="login">
          <label>
            Management token
            <input
              type="password"
              name="token"
              autocomplete="current-password"
              required
              value={value}
              aria-invalid={error === undefined ? undefined : 'true'}
              aria-describedby="token-help"
              onInput={(e) => setValue(e.currentTarget.value)}
            />
            <small id="token-help">
              {error ?? 'management.token in the configuration, or data_dir/management.token.'}
            </small>
          </label>
          <button type="submit" aria-busy={busy ? 'true' : undefined} disabled={busy}>
            Log in
          </button>
        </form>
      </article>
    </main>
  );
}

/** Up to 15 minutes of points per element. */
type Series = Record<
  string,
  { t: number[]; requests: (number | null)[]; replies: (number | null)[] }
>;

function fromRates(r: ConsoleRates): Series {
  const out: Series = {};
  for (const [name, s] of Object.entries(r.series))
    out[name] = { t: [...r.t], requests: [...s.requests], replies: [...s.replies] };
  return out;
}

function Live(props: { readonly token: string; readonly onLogout: (reason?: string) => void }) {
  const { token } = props;
  const [tab, setTab] = useState<Tab>(tabFromHash());
  const [state, setState] = useState<ConsoleState | undefined>(undefined);
  const [skew, setSkew] = useState(0);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [now, setNow] = useState(Date.now());
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const [pending, setPending] = useState<Action | undefined>(undefined);
  const series = useRef<Series>({});
  const points = useRef(900);
  const [revision, setRevision] = useState(0);
  const [totals, setTotals] = useState<ConsoleRatePoint['totals']>({});

  // the ages count on between pushes
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  useEffect(() => {
    const onHash = (): void => setTab(tabFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  // the search goes to the server (it sees more than the page holds), 300 ms after typing stops
  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 300);
    return () => clearTimeout(t);
  }, [search]);

  // the page subscribes to the list it shows: a tab or a search opens a new stream
  useEffect(
    () =>
      openEvents(token, tab, query, {
        state: (s) => {
          setSkew(Date.now() - s.at);
          setState(s);
        },
        rates: (r) => {
          points.current = Math.max(1, Math.round(900 / r.step));
          series.current = fromRates(r);
          setRevision((n) => n + 1);
        },
        rate: (p) => {
          const cap = points.current;
          for (const [name, s] of Object.entries(p.series)) {
            let mine = series.current[name];
            if (mine === undefined) {
              mine = { t: [], requests: [], replies: [] };
              series.current[name] = mine;
            }
            mine.t.push(...p.t);
            mine.requests.push(...s.requests);
            mine.replies.push(...s.replies);
            const extra = mine.t.length - cap;
            if (extra > 0) {
              mine.t.splice(0, extra);
              mine.requests.splice(0, extra);
              mine.replies.splice(0, extra);
            }
          }
          setTotals(p.totals);
          setRevision((n) => n + 1);
        },
        status: setStatus,
        expired: (m) => props.onLogout(`Logged out: ${m}`),
      }),
    [token, tab, query],
  );

  const go = (t: Tab): void => {
    history.replaceState(null, '', `#${t}`);
    setTab(t);
  };

  const run = (a: Action): void => {
    setPending(undefined);
    const req =
      a.kind === 'close-flow'
        ? call(
            token,
            'DELETE',
            `/v1/flows/${encodeURIComponent(a.flow.id)}?element=${encodeURIComponent(a.flow.element)}`,
          )
        : call(
            token,
            'DELETE',
            `/v1/bindings/${encodeURIComponent(a.binding.aor)}/${encodeURIComponent(a.binding.ruid)}?element=${encodeURIComponent(a.binding.element)}`,
          );
    req
      .then(() =>
        setNotice({
          ok: true,
          text:
            a.kind === 'close-flow'
              ? `Flow ${a.flow.id} (${a.flow.transport.toUpperCase()} ${a.flow.peer}) closed.`
              : `Binding of ${a.binding.aor} (${a.binding.contact}) removed.`,
        }),
      )
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 401) props.onLogout(`Logged out: ${e.message}`);
        else setNotice({ ok: false, text: e instanceof Error ? e.message : String(e) });
      });
  };

  const serverNow = now - skew;
  const counts: Record<Tab, string> = {
    flows: state === undefined ? '' : ` (${state.flows.total ?? '?'})`,
    bindings: state === undefined ? '' : ` (${state.bindings.total ?? '?'})`,
    transactions: state === undefined ? '' : ` (${state.transactions.total ?? '?'})`,
    rates: '',
  };
  const labels: Record<Tab, string> = {
    flows: 'Flows',
    bindings: 'Bindings',
    transactions: 'Transactions',
    rates: 'Rates',
  };

  return (
    <>
      <header class="container top">
        <nav>
          <ul>
            <li>
              <strong>flowgate</strong> <small class="muted">{state?.version ?? ''}</small>
            </li>
          </ul>
          <ul>
            <li>
              <span class={`live live-${status}`} data-status={status} title="event stream">
                {status === 'live'
                  ? '● live'
                  : status === 'connecting'
                    ? '○ connecting'
                    : '○ reconnecting'}
              </span>
            </li>
            <li>
              <button
                type="button"
                class="secondary outline small"
                onClick={() => {
                  logout(token).catch(() => undefined);
                  props.onLogout();
                }}
              >
                Log out
              </button>
            </li>
          </ul>
        </nav>
        <p class="elements">
          {state?.elements.map((e) => (
            <span key={e.name} class="element">
              <strong>{e.name}</strong>{' '}
              <small>
                {[
                  e.edge ? 'outbound edge' : '',
                  e.registrar ? 'location store' : '',
                  `script ${e.script}`,
                ]
                  .filter((x) => x !== '')
                  .join(' · ')}
              </small>
            </span>
          ))}
        </p>
        <input
          type="search"
          name="q"
          placeholder="Search AoR or IP"
          aria-label="Search by AoR or IP"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <div role="tablist" class="tabs">
          {TABS.map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              data-tab={t}
              class={tab === t ? '' : 'outline'}
              aria-selected={tab === t ? 'true' : 'false'}
              onClick={() => go(t)}
            >
              {labels[t]}
              {counts[t]}
            </button>
          ))}
        </div>
      </header>
      <main class="container" data-view={tab}>
        {notice === undefined ? null : (
          <p class={`notice ${notice.ok ? 'ok' : 'failed'}`} role="status">
            {notice.text}{' '}
            <button
              type="button"
              class="secondary outline small"
              onClick={() => setNotice(undefined)}
            >
              OK
            </button>
          </p>
        )}
        {state?.errors.map((e) => (
          <p key={e} class="notice failed">
            {e}
          </p>
        ))}
        {(state === undefined || state.view !== tab) && tab !== 'rates' ? (
          <p aria-busy="true">Waiting for the first update…</p>
        ) : tab === 'flows' && state !== undefined ? (
          <FlowsView flows={state.flows} now={serverNow} act={setPending} />
        ) : tab === 'bindings' && state !== undefined ? (
          <BindingsView bindings={state.bindings} now={serverNow} act={setPending} />
        ) : tab === 'transactions' && state !== undefined ? (
          <TransactionsView transactions={state.transactions} now={serverNow} />
        ) : (
          <ChartsView
            series={series.current as Record<string, RateSeries>}
            totals={totals}
            revision={revision}
          />
        )}
      </main>
      {pending === undefined ? null : (
        <Confirm action={pending} onCancel={() => setPending(undefined)} onConfirm={run} />
      )}
    </>
  );
}

/** The question before a write, in the browser's own modal dialog. */
function Confirm(props: {
  readonly action: Action;
  readonly onCancel: () => void;
  readonly onConfirm: (a: Action) => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d !== null && !d.open) d.showModal();
  }, []);
  const a = props.action;
  const [title, text, verb] =
    a.kind === 'close-flow'
      ? [
          'Close this flow?',
          `${a.flow.transport.toUpperCase()} ${a.flow.peer} → ${a.flow.local} (${a.flow.element}). The UA sees its connection end; ${
            a.flow.bindings.length === 0
              ? 'no binding uses it.'
              : `requests to ${a.flow.bindings.map((b) => b.aor).join(', ')} fail until the UA registers again.`
          }`,
          'Close flow',
        ]
      : [
          'Unregister this binding?',
          `${a.binding.aor}: ${a.binding.contact} (${a.binding.element}). Calls to it fail until the UA registers again.`,
          'Unregister',
        ];
  return (
    <dialog ref={ref} onClose={props.onCancel} aria-labelledby="confirm-title">
      <article>
        <h3 id="confirm-title">{title}</h3>
        <p>{text}</p>
        <footer>
          <button type="button" class="secondary" onClick={props.onCancel}>
            Cancel
          </button>{' '}
          <button type="button" data-confirm="yes" onClick={() => props.onConfirm(a)}>
            {verb}
          </button>
        </footer>
      </article>
    </dialog>
  );
}
