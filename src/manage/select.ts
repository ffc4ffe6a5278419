// Picking elements and location stores by the `element` parameter of a management route.
import type { LocationStore } from '../modules/location/binding.js';
import { HttpError } from './http.js';
import type { ManagedElement } from './view.js';

/** The element named `name`, or a 404 naming the elements there are. */
export function elementNamed(all: readonly ManagedElement[], name: string): ManagedElement {
  const e = all.find((x) => x.server.name === name);
  if (e === undefined)
    throw new HttpError(
      404,
      'not_found',
      `no element '${name}' (there are: ${all.map((x) => x.server.name).join(', ')})`,
    );
  return e;
}

/** Every element, or the one `?element=` names. */
export function selected(all: readonly ManagedElement[], q: URLSearchParams): ManagedElement[] {
  const name = q.get('element');
  return name === null || name === '' ? [...all] : [elementNamed(all, name)];
}

/** One element per location store (elements may share one), or the element `element` names. */
export function storesOf(
  all: readonly ManagedElement[],
  element: string | undefined,
): ManagedElement[] {
  const seen = new Set<LocationStore>();
  const withStore = all.filter((e) => {
    if (e.location === undefined || seen.has(e.location)) return false;
    seen.add(e.location);
    return true;
  });
  if (element === undefined || element === '') return withStore;
  const e = elementNamed(all, element);
  if (e.location === undefined)
    throw new HttpError(
      404,
      'not_found',
      `element '${element}' has no location store (it runs no registrar)`,
    );
  return [e];
}
