/**
 * Values on their way to PostgreSQL: what a read may ask with, what a write may store, and SQL literals for the
 * statements PgBatch buffers and sends inline.
 */
import pg from 'pg';
import { QuittanceError } from '../../errors.js';

const hasNul = (v: unknown): boolean => typeof v === 'string' && v.includes('\u0000');

/** Read parameters without U+0000 (PostgreSQL text cannot hold it): dropped from lists, or undefined (no match). */
export function readableParams(values: unknown[]): unknown[] | undefined {
  if (!values.some((v) => hasNul(v) || (Array.isArray(v) && v.some(hasNul)))) return values;
  if (values.some(hasNul)) return undefined;
  return values.map((v) => (Array.isArray(v) ? v.filter((x) => !hasNul(x)) : v));
}

/** Writes refuse U+0000 with a coded 400: PostgreSQL text cannot store it (SQLite can; see the store notes). */
export function assertStorable(values: readonly unknown[]): void {
  for (const v of values) {
    if (hasNul(v) || (Array.isArray(v) && v.some(hasNul))) {
      throw new QuittanceError('QUITTANCE_ERR_VALIDATION', ['text fields cannot contain the character U+0000']);
    }
  }
}

/** A value as an SQL literal, for buffered writes (sent with the simple protocol, so values are inlined). */
export function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`quittance: cannot store the number ${v}`);
    return String(v);
  }
  if (typeof v === 'string') {
    if (hasNul(v)) assertStorable([v]);
    return pg.escapeLiteral(v);
  }
  throw new Error(`quittance: cannot store a ${typeof v} as an SQL literal`);
}

/**
 * A parameterised statement with its values inlined as literals, for the simple query that also carries the
 * buffered writes. Undefined when a value has no literal form here (the caller then sends it on its own).
 */
export function inlineParams(text: string, values: readonly unknown[]): string | undefined {
  try {
    return text.replace(/\$(\d+)/g, (_, n: string) => {
      const v = values[Number(n) - 1];
      if (!Array.isArray(v)) return literal(v);
      // Every array parameter here is cast where it is used ($n::text[]), which types an empty ARRAY[] too.
      return v.length === 0 ? "'{}'" : `ARRAY[${v.map(literal).join(', ')}]`;
    });
  } catch {
    return undefined;
  }
}

/** `(v1, v2, ...)`: one row of literals. */
export function tuple(values: readonly unknown[]): string {
  return `(${values.map(literal).join(', ')})`;
}
