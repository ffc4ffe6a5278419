import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { parseCommandArgs } from './args.js';
import { CTL_USAGE, ctlArgsProblem, ctlHelp, readTokenFile, runCtl } from './ctl.js';
import { type Io, printIssues, usageError } from './io.js';
import { runTrace } from './trace.js';

/** `flowgate ctl`: finds the API and its token (options, environment, -c / --data-dir), then runs the command. */
export async function cmdCtl(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('ctl', argv, {
    url: { type: 'string' },
    token: { type: 'string' },
    config: { type: 'string', short: 'c' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
    element: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    transport: { type: 'string' },
    aor: { type: 'string' },
    'call-id': { type: 'string' },
    count: { type: 'string' },
  });
  const [command, ...args] = positionals;
  if (values.help === true || command === 'help') {
    // `ctl --help`, `ctl bindings --help`, `ctl help [bindings]`: no server needed
    const which = values.help === true ? command : args[0];
    if (values.help !== true && args.length > 1)
      return usageError(io, 'help takes at most one command', 'ctl');
    const h = ctlHelp(which);
    if (h === undefined) return usageError(io, `no ctl command '${which}'`, 'ctl');
    io.out(`${h}\n`);
    return 0;
  }
  if (command === undefined) {
    io.err(`flowgate ctl: which command?\n${CTL_USAGE}\n`);
    return 2;
  }
  let url = values.url ?? process.env['FLOWGATE_URL'];
  let token = values.token ?? process.env['FLOWGATE_TOKEN'];
  let tokenHint: string | undefined;
  // the file of -c, or the embedded default: where the API listens and where data_dir is
  let c: Config;
  try {
    c = loadConfig(values.config, { dataDir: values['data-dir'] });
  } catch (e) {
    if (e instanceof ConfigError) {
      printIssues(io, e.issues);
      return 1;
    }
    throw e;
  }
  const l = c.management.listen;
  if (url === undefined && l !== undefined) {
    const host = l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host;
    url = `http://${host.includes(':') ? `[${host}]` : host}:${l.port}`;
  }
  token ??= c.management.token;
  if (token === undefined) {
    // issue 10 §6: flowgate start generated one into the data directory
    const t = readTokenFile(c.data_dir);
    if (t.token !== undefined) token = t.token;
    else tokenHint = t.why;
  }
  const ctlArgs = {
    command,
    args,
    json: values.json === true,
    element: values.element,
    limit: values.limit,
    cursor: values.cursor,
    transport: values.transport,
    aor: values.aor,
    callId: values['call-id'],
    count: values.count,
  };
  const target = { url: url ?? 'http://127.0.0.1:8081', token, tokenHint };
  if (command === 'trace') {
    // a stream until Ctrl-C (or --count): not a request and an answer
    const problem = ctlArgsProblem(ctlArgs);
    if (problem !== undefined) {
      io.err(
        `flowgate ctl: ${problem.message}${problem.code === 2 ? "\nRun 'flowgate ctl help trace' for usage." : ''}\n`,
      );
      return problem.code;
    }
    if (args.length > 0)
      return usageError(io, `trace takes no arguments (got '${args.join(' ')}')`, 'ctl trace');
    const ac = new AbortController();
    const onSignal = (): void => ac.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await runTrace(
        target,
        {
          element: values.element,
          aor: values.aor,
          callId: values['call-id'],
          count: values.count === undefined ? undefined : Number(values.count),
          json: values.json === true,
        },
        { out: (s) => io.out(s), err: (s) => io.err(s), signal: ac.signal },
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  const r = await runCtl(target, ctlArgs);
  if (r.stdout !== '') io.out(r.stdout);
  if (r.stderr !== '') io.err(r.stderr);
  return r.code;
}
