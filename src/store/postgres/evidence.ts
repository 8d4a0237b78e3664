import type { Pool } from 'pg';
import type { EvidenceReads, EvidenceTx } from '../types.js';
import type { EvidenceRow } from '../../evidence/types.js';
import { EVIDENCE_COLUMNS, evidenceToRow } from '../codecs/evidence.js';
import { type PgBatch } from './batch.js';
import { readableParams } from './values.js';

// DO NOTHING: a tenant putting bytes it already holds keeps its first row (and its first content type).
const INSERT = `INSERT INTO evidence (${EVIDENCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, digest) DO NOTHING`;

/**
 * Evidence rows of one batch (see PgBatch). The tenant is taken first, like every tenant-scoped write, so the
 * insert never waits on a row another server's open transaction holds (that wait, inside a batch holding other
 * tenants, is how two servers would deadlock). The answer is needed at once, so the insert is not buffered.
 */
export function pgEvidenceTx(b: PgBatch): EvidenceTx {
  return {
    async recordEvidence(r) {
      await b.lockTenant(r.tenant_id);
      const done = await b.writeNow('q_evi_insert', INSERT, evidenceToRow(r));
      return done.rowCount === 1;
    },
  };
}

/** Evidence reads through the pool (committed data only); each waits for the store's migrations. */
export class PgEvidenceReads implements EvidenceReads {
  constructor(private readonly pool: Pool, private readonly ready: () => Promise<unknown>) {}

  async evidenceRow(tenantId: string, digest: string): Promise<EvidenceRow | undefined> {
    await this.ready();
    const values = readableParams([tenantId, digest]);
    if (!values) return undefined;
    const text = `SELECT ${EVIDENCE_COLUMNS} FROM evidence WHERE tenant_id = $1 AND digest = $2`;
    return (await this.pool.query<EvidenceRow>({ name: 'r_evi_row', text, values })).rows[0];
  }
}
