import type { Database, Statement } from 'better-sqlite3';
import type { EvidenceReads, EvidenceTx } from '../types.js';
import type { EvidenceRow } from '../../evidence/types.js';
import { EVIDENCE_COLUMNS, evidenceToRow } from '../codecs/evidence.js';

/** Evidence rows on the writer connection, inside the group-committed transaction. */
export function sqliteEvidenceTx(db: Database): EvidenceTx {
  // OR IGNORE: a tenant putting bytes it already holds keeps its first row (and its first content type).
  const insert = db.prepare(`INSERT OR IGNORE INTO evidence (${EVIDENCE_COLUMNS}) VALUES (?, ?, ?, ?, ?)`);
  return {
    async recordEvidence(r) {
      return insert.run(...evidenceToRow(r)).changes === 1;
    },
  };
}

/** Evidence reads on the reader connection. */
export class SqliteEvidenceReads implements EvidenceReads {
  private readonly byDigest: Statement<[string, string], EvidenceRow>;

  constructor(db: Database) {
    this.byDigest = db.prepare(`SELECT ${EVIDENCE_COLUMNS} FROM evidence WHERE tenant_id = ? AND digest = ?`);
  }

  async evidenceRow(tenantId: string, digest: string): Promise<EvidenceRow | undefined> {
    return this.byDigest.get(tenantId, digest);
  }
}
