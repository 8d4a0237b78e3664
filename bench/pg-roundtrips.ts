/**
 * `npm run bench -- roundtrips`: how many PostgreSQL round trips one claim (max_tasks 1) and one complete (with an
 * artifact) cost, each alone in its group-committed batch (the worst case: with concurrent callers a batch shares
 * BEGIN, COMMIT and the chain-head lock among its writes). Counts client.query calls, which is what a round trip is
 * (a simple query of several statements is one). With QUITTANCE_ROUNDTRIPS_SQL=1 it also prints each statement.
 */
import pg from 'pg';
import { harness } from '../test/helpers.js';
import type { Figures } from './lib.js';

const ROUNDS = 20;
/** Callers at once for the batched figures: about what one group-committed batch holds under the compare bench. */
const TOGETHER = 16;

export async function benchRoundTrips(): Promise<Figures> {
  const log: string[] = [];
  const original = pg.Client.prototype.query;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (pg.Client.prototype as any).query = function (this: pg.Client, config: unknown, ...rest: unknown[]) {
    const text = typeof config === 'string' ? config : (config as { text?: string })?.text ?? '?';
    log.push(text.replace(/\s+/g, ' ').slice(0, 160));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return (original as any).call(this, config, ...rest);
  };
  const h = await harness({ backend: 'postgres' });
  try {
    const created = await h.req('POST', '/v1/tasks/batch', { tasks: Array.from({ length: ROUNDS + 1 + TOGETHER }, (_, n) => ({ type: 'rt', payload: { n } })) });
    if (created.status >= 300) throw new Error(`creating tasks: ${created.status} ${JSON.stringify(created.json)}`);
    let claims = 0;
    let completes = 0;
    const show = process.env['QUITTANCE_ROUNDTRIPS_SQL'] === '1';
    // The first round warms up (signing key created, statements prepared); it is not counted.
    for (let i = 0; i <= ROUNDS; i++) {
      log.length = 0;
      const c = await h.req('POST', '/v1/leases/claim', { worker_id: 'w', max_tasks: 1 });
      const g = c.json.leases[0];
      if (!g) throw new Error(`claim: ${c.status} ${JSON.stringify(c.json)}`);
      if (i > 0) claims += log.length;
      if (show && i === ROUNDS) console.log(`claim:\n  ${log.join('\n  ')}`);
      log.length = 0;
      const r = await h.req('POST', `/v1/tasks/${g.task_id}/complete`, { lease_id: g.lease_id, lease_token: g.lease_token, artifacts: [{ kind: 'blob', uri: `blob:${g.task_id}` }] });
      if (r.status !== 201) throw new Error(`complete: ${r.status} ${JSON.stringify(r.json)}`);
      if (i > 0) completes += log.length;
      if (show && i === ROUNDS) console.log(`complete:\n  ${log.join('\n  ')}`);
    }
    // The same calls TOGETHER at once: they share batches, as under load.
    let together = 0;
    log.length = 0;
    const grants = await Promise.all(Array.from({ length: TOGETHER }, (_, w) => h.req('POST', '/v1/leases/claim', { worker_id: `w${w}`, max_tasks: 1 })));
    const claimsTogether = log.length / TOGETHER;
    if (show) console.log(`${TOGETHER} claims at once:\n  ${log.join('\n  ')}`);
    log.length = 0;
    const done = await Promise.all(grants.map(async (c) => {
      const g = c.json.leases[0];
      return h.req('POST', `/v1/tasks/${g.task_id}/complete`, { lease_id: g.lease_id, lease_token: g.lease_token, artifacts: [{ kind: 'blob', uri: `blob:${g.task_id}` }] });
    }));
    if (done.some((r) => r.status !== 201)) throw new Error('a batched complete failed');
    together = log.length / TOGETHER;
    if (show) console.log(`${TOGETHER} completes at once:\n  ${log.join('\n  ')}`);
    return {
      'PostgreSQL round trips per claim (max_tasks 1, alone in its batch)': claims / ROUNDS,
      'PostgreSQL round trips per complete (alone in its batch)': completes / ROUNDS,
      [`PostgreSQL round trips per claim (${TOGETHER} at once)`]: claimsTogether,
      [`PostgreSQL round trips per complete (${TOGETHER} at once)`]: together,
    };
  } finally {
    pg.Client.prototype.query = original;
    await h.close();
  }
}
