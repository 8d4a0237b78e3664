/**
 * One page of a sweep (lease expiry, stamp TTL, orphan quarantine) written so that one item the sweep cannot
 * process does not stop it for everyone.
 *
 * The page is written in one transaction, with no savepoints: the common case costs what it always did. Only when
 * that write fails is it run again with each item in a savepoint of its own, so the items that work are committed
 * and the ones that throw (a damaged row, a bug on one path) are left where they were and reported. Before, such an
 * item failed every page it was in; the lease sweep, which reads the earliest expiries first, then never expired
 * another lease of any tenant (crash detection stopped server-wide), and the stamp sweep never flagged another
 * ambiguous stamp.
 */
import type { Store, Tx } from './types.js';

export interface SweepFailure<I> {
  item: I;
  error: unknown;
}

export interface SweepPage<I> {
  /** What `load` found (the page size, when the sweep should read another page). */
  found: number;
  /** Items `each` processed (it returned true, or nothing). */
  done: number;
  failed: SweepFailure<I>[];
}

/**
 * Loads a page inside the write (`load`), processes each item (`each`; false = nothing to do for it). With the
 * same `load` and `each`, the second run sees the database as the first one did: the first rolled back entirely.
 */
export async function sweepWrite<I>(
  store: Pick<Store, 'write'>,
  load: (tx: Tx) => Promise<readonly I[]>,
  each: (tx: Tx, item: I) => Promise<boolean | void>,
): Promise<SweepPage<I>> {
  try {
    return await store.write(async (tx) => {
      const items = await load(tx);
      let done = 0;
      for (const item of items) if ((await each(tx, item)) !== false) done++;
      return { found: items.length, done, failed: [] };
    });
  } catch {
    return store.write(async (tx) => {
      const items = await load(tx);
      let done = 0;
      const failed: SweepFailure<I>[] = [];
      for (const item of items) {
        try {
          if ((await tx.atomically(() => each(tx, item))) !== false) done++;
        } catch (error) {
          failed.push({ item, error });
        }
      }
      return { found: items.length, done, failed };
    });
  }
}

/**
 * The error a sweep ends with when some items failed, after committing the rest: the sweep runner logs it (once a
 * minute while it lasts), naming the items and the first item's error.
 */
export function sweepFailed<I>(what: string, failed: SweepFailure<I>[], name: (item: I) => string): Error {
  const first = failed[0]!;
  const names = failed.slice(0, 5).map((f) => name(f.item)).join(', ') + (failed.length > 5 ? `, and ${failed.length - 5} more` : '');
  const why = first.error instanceof Error ? first.error.message : String(first.error);
  return new Error(`${failed.length} ${what} could not be processed and stay for the next sweep (${names}): ${why}`, { cause: first.error });
}
