// `/v1/bindings`: list (paged across the location stores), one AoR, remove an AoR or one binding.
import type { Binding, LocationStore } from '../modules/location/binding.js';
import type { Logger } from '../util/logger.js';
import { HttpError, pageLimit, type RouteHandler, sendJson } from './http.js';
import { storesOf } from './select.js';
import { bindingJson, type ManagedElement } from './view.js';

/** A cursor over several stores: which element, and that store's own cursor. */
function encodeCursor(element: string, c: string): string {
  return Buffer.from(JSON.stringify([element, c])).toString('base64url');
}

function decodeCursor(s: string): { element: string; cursor: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string')
      return { element: v[0], cursor: v[1] };
  } catch {
    // fall through
  }
  throw new HttpError(400, 'bad_request', 'cursor: not a cursor this API returned');
}

const aorKey = (e: ManagedElement, input: string): string => e.aorKey?.(input) ?? input;

/** The handlers of the bindings routes. */
export function bindingsHandlers(
  elements: () => readonly ManagedElement[],
  log: Logger,
): Record<
  'bindings.list' | 'bindings.aor' | 'bindings.removeAor' | 'bindings.remove',
  RouteHandler
> {
  const list = async (q: URLSearchParams): Promise<unknown> => {
    const element = q.get('element') ?? undefined;
    const aor = q.get('aor') ?? undefined;
    const limit = pageLimit(q);
    const stores = storesOf(elements(), element);
    if (aor !== undefined && aor !== '') {
      const out = [];
      for (const e of stores) {
        const loc = e.location as LocationStore;
        for (const b of await loc.get(aorKey(e, aor))) out.push(bindingJson(e.server.name, b));
      }
      return { bindings: out, next: null };
    }
    // page through the stores one after the other
    let start = 0;
    let inner: string | undefined;
    const cursorText = q.get('cursor');
    if (cursorText !== null && cursorText !== '') {
      const c = decodeCursor(cursorText);
      start = stores.findIndex((e) => e.server.name === c.element);
      if (start < 0)
        throw new HttpError(
          400,
          'bad_request',
          `cursor: element '${c.element}' is not listed here`,
        );
      inner = c.cursor === '' ? undefined : c.cursor;
    }
    const out = [];
    let next: string | null = null;
    for (let i = start; i < stores.length && out.length < limit; i++) {
      const e = stores[i] as ManagedElement;
      const page = await (e.location as LocationStore).list(
        i === start ? inner : undefined,
        limit - out.length,
      );
      for (const b of page.bindings) out.push(bindingJson(e.server.name, b));
      if (page.next !== undefined) {
        next = encodeCursor(e.server.name, page.next);
        break;
      }
      if (out.length >= limit && i + 1 < stores.length) {
        // the next store starts from its beginning: encode "before the first" as an empty cursor
        next = encodeCursor((stores[i + 1] as ManagedElement).server.name, '');
        break;
      }
    }
    return { bindings: out, next };
  };

  const remove = async (
    aorIn: string,
    ruid: string | undefined,
    q: URLSearchParams,
  ): Promise<unknown> => {
    const stores = storesOf(elements(), q.get('element') ?? undefined);
    let removed = 0;
    const seen = new Set<LocationStore>();
    for (const e of stores) {
      const loc = e.location as LocationStore;
      if (seen.has(loc)) continue;
      seen.add(loc);
      const aor = aorKey(e, aorIn);
      if (ruid === undefined) removed += await loc.removeAor(aor);
      else {
        const b: Binding | undefined = await loc.getByRuid(ruid);
        if (b !== undefined && b.aor === aor) {
          await loc.apply(aor, { upsert: [], remove: [ruid] });
          removed++;
        }
      }
    }
    if (removed === 0)
      throw new HttpError(
        404,
        'not_found',
        ruid === undefined ? `no bindings for '${aorIn}'` : `no binding '${ruid}' of '${aorIn}'`,
      );
    log.info({ aor: aorIn, ruid, removed }, 'bindings removed through the management API');
    return { removed };
  };

  return {
    'bindings.list': async (r) => sendJson(r.res, 200, await list(r.query)),
    'bindings.aor': async (r) => {
      const q = new URLSearchParams(r.query);
      q.set('aor', r.params['aor'] ?? '');
      sendJson(r.res, 200, await list(q));
    },
    'bindings.removeAor': async (r) =>
      sendJson(r.res, 200, await remove(r.params['aor'] ?? '', undefined, r.query)),
    'bindings.remove': async (r) =>
      sendJson(r.res, 200, await remove(r.params['aor'] ?? '', r.params['ruid'], r.query)),
  };
}
