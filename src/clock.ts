/** Ledger logic reads time only through a Clock, so tests can move time and expire leases and TTLs at will. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: for tests and simulations. */
export class ManualClock implements Clock {
  private ms: number;
  constructor(start: number | string = '2026-01-01T00:00:00.000Z') {
    this.ms = typeof start === 'number' ? start : Date.parse(start);
  }
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}

let lastMs = Number.NaN;
let lastIso = '';

/** ISO 8601 text of a clock reading. Called many times per write with the same reading, so the last one is kept. */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/**
 * The ledger's form of an RFC 3339 date-time (UTC, milliseconds, as isoTime writes created_at), for comparing
 * with stored timestamps as text: `2026-05-06T04:31:00+02:00` is `2026-05-06T02:31:00.000Z`. Digits past the
 * millisecond round up, so `created_at >= result` holds exactly for the times at or after `text`. Undefined for
 * text Date.parse cannot read (a leap second, say) or a year the ledger's form cannot hold.
 */
export function ledgerTimeAtOrAfter(text: string): string | undefined {
  const parsed = Date.parse(text.toUpperCase());
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  const ms = parsed + (/[1-9]/.test(fraction.slice(3)) ? 1 : 0);
  if (!Number.isFinite(ms)) return undefined;
  const year = new Date(ms).getUTCFullYear();
  return year < 0 || year > 9999 ? undefined : isoTime(ms);
}
