import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { SipError } from '../errors/index.js';
import { type Script, validateScript } from '../script/api.js';
import { loadCfgScript } from '../script/cfg/index.js';

/** A script file that cannot be used; the message says why (code `SIP_ERR_CONFIG`). */
export class ScriptLoadError extends SipError {
  override name = 'ScriptLoadError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('SIP_ERR_CONFIG', message, options);
  }
}

const TS = /\.(?:m?ts|cts)$/;

/** Imports a TypeScript module through tsx's scoped loader, or as is when Node can strip types itself. */
async function importTs(path: string): Promise<unknown> {
  let api: { tsImport(specifier: string, parentURL: string): Promise<unknown> } | undefined;
  try {
    api = (await import('tsx/esm/api')) as typeof api;
  } catch {
    api = undefined;
  }
  if (api !== undefined) return api.tsImport(pathToFileURL(path).href, import.meta.url);
  try {
    return await import(pathToFileURL(path).href);
  } catch (e) {
    throw new ScriptLoadError(
      `${path}: a TypeScript script needs the tsx package (npm install tsx), or compile it to .js`,
      { cause: e },
    );
  }
}

/**
 * Imports a user's routing script (`.js`/`.mjs`, or `.ts` through tsx) and checks that its default
 * export (or `script` export) is a valid script (`validateScript`).
 * @throws ScriptLoadError with the path and what is wrong.
 */
export async function loadScriptFile(path: string): Promise<Script> {
  // a Kamailio configuration: compiled into a script (src/script/cfg)
  if (/\.cfg$/i.test(path)) {
    try {
      return loadCfgScript(path);
    } catch (e) {
      throw new ScriptLoadError(e instanceof Error ? e.message : String(e), { cause: e });
    }
  }
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new ScriptLoadError(`${path}: not a file`);
  } catch (e) {
    if (e instanceof ScriptLoadError) throw e;
    throw new ScriptLoadError(`${path}: no such script file`, { cause: e });
  }
  let mod: unknown;
  try {
    mod = TS.test(path) ? await importTs(path) : await import(pathToFileURL(path).href);
  } catch (e) {
    if (e instanceof ScriptLoadError) throw e;
    throw new ScriptLoadError(
      `${path}: the script failed to load: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const m = mod as { default?: unknown; script?: unknown };
  let obj = m.default ?? m.script;
  // a module compiled as CommonJS (a .ts file outside a "type": "module" package) nests its default
  if (typeof obj === 'object' && obj !== null && !('request_route' in obj) && 'default' in obj)
    obj = (obj as { default: unknown }).default;
  try {
    return validateScript(obj, path);
  } catch (e) {
    throw new ScriptLoadError(e instanceof Error ? e.message : String(e), { cause: e });
  }
}
