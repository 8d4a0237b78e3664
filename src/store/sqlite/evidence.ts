import type { Database, Statement } from 'better-sqlite3';
import type { EvidenceReads, EvidenceTx } from '../types.js';
import type { EvidenceRow } from '../../evidence/types.js';

const COLUMNS = 'tenant_id, digest, size_bytes, content_type, created_at';

/** Evidence rows on the writer connection, inside the group-committed transaction. */
export function sqliteEvidenceTx(db: Database): EvidenceTx {
  // OR IGNORE: a tenant putting bytes it already holds keeps its first row (and its first content type).
  const insert = db.prepare(`INSERT OR IGNORE INTO evidence (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`);
  return {
    async recordEvidence(r) {
      return insert.run(r.tenant_id, r.digest, r.size_bytes, r.content_type, r.created_at).changes === 1;
    },
  };
}

/** Evidence reads on the reader connection. */
export class SqliteEvidenceReads implements EvidenceReads {
  private readonly byDigest: Statement<[string, string], EvidenceRow>;

  constructor(db: Database) {
    this.byDigest = db.prepare(`SELECT ${COLUMNS} FROM evidence WHERE tenant_id = ? AND digest = ?`);
  }

  async evidenceRow(tenantId: string, digest: string): Promise<EvidenceRow | undefined> {
    return this.byDigest.get(tenantId, digest);
  }
}
