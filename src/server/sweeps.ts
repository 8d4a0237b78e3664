import type { FastifyBaseLogger } from 'fastify';
import type { Services } from './services.js';

/** A periodic job of the server: runs every `intervalMs`, never overlapping itself. Safe on every node. */
interface Sweep {
  name: string;
  intervalMs: (s: Services) => number;
  run: (s: Services) => Promise<number>;
}

/** Each domain with time-driven rules adds its sweep here; one line per domain. */
const SWEEPS: Sweep[] = [
  { name: 'lease expiry', intervalMs: (s) => s.config.tasks.sweepIntervalMs, run: (s) => s.tasks.expireDue() },
  { name: 'orphan quarantine', intervalMs: (s) => s.config.sessions.orphanSweepIntervalMs, run: (s) => s.sessions.sweepOrphans() },
  { name: 'stamp ttl', intervalMs: (s) => s.config.stamps.sweepIntervalMs, run: (s) => s.stamps.sweepStamps() },
];

/** While a sweep keeps failing, how often the log says so again (the first failure and the recovery always show). */
const FAILING_REMINDER_MS = 60_000;

/**
 * Runs every sweep on its interval. A sweep that fails (its database is down, say) is logged when it starts to
 * fail, then once a minute with the count, and when it works again: not on every tick, which with the lease sweep
 * was several stack traces a second for as long as an outage lasted.
 */
export function startSweeps(services: Services, log: FastifyBaseLogger, now: () => number = () => performance.now()): () => Promise<void> {
  const running = new Set<Promise<unknown>>();
  const timers = SWEEPS.map((sweep) => {
    let busy = false;
    let failures = 0;
    let remindAt = 0;
    return setInterval(() => {
      if (busy) return;
      busy = true;
      const p = sweep.run(services)
        .then((n) => {
          if (failures > 0) log.info({ sweep: sweep.name, failures }, 'sweep works again');
          failures = 0;
          if (n > 0) log.info({ sweep: sweep.name, count: n }, 'sweep');
        })
        .catch((err: unknown) => {
          failures++;
          if (failures > 1 && now() < remindAt) return;
          remindAt = now() + FAILING_REMINDER_MS;
          log.error({ err, sweep: sweep.name, failures }, failures === 1 ? 'sweep failed' : 'sweep still failing');
        })
        .finally(() => {
          busy = false;
          running.delete(p);
        });
      running.add(p);
    }, sweep.intervalMs(services));
  });
  return async () => {
    for (const t of timers) clearInterval(t);
    await Promise.all(running);
  };
}
