// Shared by build.ts and the files it is split into (build-modules.ts, build-checks.ts).

/** A problem found while applying defaults and cross-checking, at a config path. */
export interface PathIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** Point at the key of `path` rather than its value. */
  readonly atKey?: boolean;
}

/** Makes the fields of a module's config writable while it is assembled. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Drops `undefined` values so that a spread does not overwrite defaults with them. */
export function defined<T extends object>(
  o: T | undefined,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: { [K in keyof T]?: Exclude<T[K], undefined> } = {};
  if (o === undefined) return out;
  for (const [k, v] of Object.entries(o))
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** `null` in the file means "none" for optional strings. */
export function orUndefined<T>(v: T | null | undefined): T | undefined {
  return v === null ? undefined : v;
}
