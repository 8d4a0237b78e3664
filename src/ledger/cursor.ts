import { QuittanceError } from '../errors.js';

/** Opaque page cursors: the last seq a page returned. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined | null): number {
  if (cursor === undefined || cursor === null || cursor === '') return 0;
  const m = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new QuittanceError('QUITTANCE_ERR_INVALID_CURSOR');
  return Number(m[1]);
}

/** The cursor after a page: the last item's seq when the page came back full (there may be more), else null. */
export function nextCursor<T>(items: readonly T[], limit: number, seqOf: (item: T) => number): string | null {
  return items.length === limit && items.length > 0 ? encodeCursor(seqOf(items[items.length - 1]!)) : null;
}
