import { z } from 'zod';

/**
 * Building blocks of the `flowgate.yaml` schema (`schema.ts`, `schema-listen.ts`,
 * `schema-modules.ts`): value types whose error messages say what was expected, and the
 * `d`/`dn` wrappers that make a key optional and attach its documentation.
 */

const FLAG_MSG = 'expected true or false (also accepted: 1/0, yes/no, on/off)';

/** Kamailio-style boolean: true/false, 1/0, yes/no, on/off. */
export const flag = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.enum(['yes', 'no', 'on', 'off'])], {
    error: FLAG_MSG,
  })
  .transform((v) => v === true || v === 1 || v === 'yes' || v === 'on');

export function int(what: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const msg = `expected ${what}`;
  return z
    .int({ error: msg })
    .min(min, { error: msg })
    .max(max, { error: msg })
    .meta({ format: what });
}

/** A positive integer with its unit in the message ("expected a positive integer (seconds)"). */
export function positive(unit: string, max?: number) {
  return int(`a positive integer (${unit})`, 1, max);
}

export function oneOf<const T extends readonly [number, ...number[]]>(values: T, what: string) {
  const msg = `expected ${values.join(', ')} (${what})`;
  return z.union(
    values.map((v) => z.literal(v)) as unknown as [
      z.ZodLiteral<T[number]>,
      ...z.ZodLiteral<T[number]>[],
    ],
    { error: msg },
  );
}

export function str(what: string) {
  return z
    .string({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}, got an empty string` });
}

/** A key-derivation secret: long enough that it cannot be guessed (issue 10 §6). */
export function secret() {
  const msg = 'expected a secret of at least 32 characters (e.g. openssl rand -hex 32)';
  return z.string({ error: msg }).min(32, { error: msg });
}

export function d<T extends z.ZodType>(schema: T, description: string) {
  return schema.optional().meta({ description });
}

export function dn<T extends z.ZodType>(schema: T, description: string) {
  return schema.nullable().optional().meta({ description });
}
