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
