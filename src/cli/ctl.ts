import { type CtlTarget, call, qs, type Reply } from './ctl-api.js';
import { CTL_COMMANDS, CTL_LOG_LEVELS, type CtlArgs, ctlArgsProblem } from './ctl-commands.js';
import { ctlHelp } from './ctl-help.js';
import { obj, render } from './ctl-render.js';

export { type CtlTarget, readTokenFile } from './ctl-api.js';
export {
  CTL_COMMANDS,
  CTL_LOG_LEVELS,
  CTL_TRANSPORTS,
  type CtlArgs,
  ctlArgsProblem,
} from './ctl-commands.js';
export { CTL_USAGE, ctlHelp } from './ctl-help.js';
export { shortPath } from './ctl-render.js';

/** Result of a ctl command: what to print and the exit code. */
export interface CtlOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs one ctl command against a running instance. */
export async function runCtl(t: CtlTarget, a: CtlArgs): Promise<CtlOutput> {
  const fail = (m: string, code = 1): CtlOutput => ({
    stdout: '',
    stderr: `flowgate ctl: ${m}\n`,
    code,
  });
  const usage = (m: string): CtlOutput =>
    fail(`${m}\nRun 'flowgate ctl help ${a.command}' for usage.`, 2);
  const problem = ctlArgsProblem(a);
  if (problem !== undefined)
    return problem.code === 2
      ? fail(
          `${problem.message}\nRun 'flowgate ctl help${Object.hasOwn(CTL_COMMANDS, a.command) ? ` ${a.command}` : ''}' for usage.`,
          2,
        )
      : fail(problem.message, problem.code);
  if (a.command === 'help') {
    if (a.args.length > 1) return usage('help takes at most one command');
    const h = ctlHelp(a.args[0]);
    if (h === undefined) return usage(`no ctl command '${a.args[0]}'`);
    return { stdout: `${h}\n`, stderr: '', code: 0 };
  }
  const noArgs = ['health', 'elements', 'flows', 'stats', 'registrars', 'reload-tls'];
  if (noArgs.includes(a.command) && a.args.length > 0)
    return usage(`${a.command} takes no arguments (got '${a.args.join(' ')}')`);
  let method = 'GET';
  let path: string;
  let payload: Record<string, unknown> | undefined;
  const element = a.element;
  switch (a.command) {
    case 'health':
      path = '/health';
      break;
    case 'elements':
      path = `/v1/elements${qs({ element })}`;
      break;
    case 'bindings':
      if (a.args.length > 1) return usage('bindings takes at most one AoR');
      path = `/v1/bindings${qs({ aor: a.args[0], limit: a.limit, cursor: a.cursor, element })}`;
      break;
    case 'unbind': {
      const [aor, ruid] = a.args;
      if (aor === undefined || a.args.length > 2)
        return usage('usage: flowgate ctl unbind <aor> [ruid]');
      method = 'DELETE';
      path = `/v1/bindings/${encodeURIComponent(aor)}${ruid === undefined ? '' : `/${encodeURIComponent(ruid)}`}${qs({ element })}`;
      break;
    }
    case 'flows':
      path = `/v1/flows${qs({ transport: a.transport?.toLowerCase(), element })}`;
      break;
    case 'close-flow': {
      const [id] = a.args;
      if (id === undefined || a.args.length > 1)
        return usage('usage: flowgate ctl close-flow <id> (the ID column of flowgate ctl flows)');
      method = 'DELETE';
      path = `/v1/flows/${encodeURIComponent(id)}${qs({ element })}`;
      break;
    }
    case 'stats':
      path = `/v1/stats${qs({ element })}`;
      break;
    case 'registrars':
      path = `/v1/registrars${qs({ element })}`;
      break;
    case 'reload-tls':
      method = 'POST';
      path = '/v1/tls/reload';
      break;
    case 'capture': {
      const [onOff] = a.args;
      if (a.args.length > 1 || (onOff !== undefined && onOff !== 'on' && onOff !== 'off'))
        return usage('usage: flowgate ctl capture [on|off]');
      path = '/v1/capture';
      if (onOff !== undefined) {
        method = 'PUT';
        payload =
          element === undefined
            ? { enabled: onOff === 'on' }
            : { enabled: onOff === 'on', element };
      } else path += qs({ element });
      break;
    }
    case 'trace':
      // a stream: ctl-command.ts runs it with runTrace (src/cli/trace.ts)
      return usage('trace streams: run it as flowgate ctl trace');
    default: {
      // loglevel
      const [level] = a.args;
      if (a.args.length > 1) return usage('usage: flowgate ctl loglevel [level]');
      path = '/v1/loglevel';
      if (level !== undefined) {
        if (!CTL_LOG_LEVELS.includes(level))
          return fail(
            `loglevel ${level}: no such level (expected one of ${CTL_LOG_LEVELS.join(', ')})`,
          );
        method = 'PUT';
        payload = element === undefined ? { level } : { level, element };
      } else if (element !== undefined) path += qs({ element });
    }
  }
  let r: Reply;
  try {
    r = await call(t, method, path, payload);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const body = obj(r.body);
  if (r.status >= 400 && !(a.command === 'health' && r.status === 503)) {
    let msg = typeof body['message'] === 'string' ? body['message'] : `HTTP ${r.status}`;
    if (r.status === 401 && t.token === undefined && t.tokenHint !== undefined)
      msg += ` (${t.tokenHint})`;
    return a.json
      ? { stdout: `${JSON.stringify(r.body, null, 2)}\n`, stderr: '', code: 1 }
      : fail(msg);
  }
  const code = a.command === 'health' && r.status !== 200 ? 1 : 0;
  if (a.json) return { stdout: `${JSON.stringify(r.body, null, 2)}\n`, stderr: '', code };
  let shown = r.body;
  if (a.command === 'loglevel' && element !== undefined) {
    // only the element asked about
    const els = obj(body['elements']);
    shown = { ...body, elements: { [element]: els[element] } };
  }
  return { stdout: `${render(a.command, shown)}\n`, stderr: '', code };
}
