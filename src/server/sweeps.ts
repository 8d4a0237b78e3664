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

export function startSweeps(services: Services, log: FastifyBaseLogger): () => Promise<void> {
  const running = new Set<Promise<unknown>>();
  const timers = SWEEPS.map((sweep) => {
    let busy = false;
    return setInterval(() => {
      if (busy) return;
      busy = true;
      const p = sweep.run(services)
        .then((n) => {
          if (n > 0) log.info({ sweep: sweep.name, count: n }, 'sweep');
        })
        .catch((err: unknown) => log.error({ err, sweep: sweep.name }, 'sweep failed'))
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
