import type { EvidenceRow } from '../../evidence/types.js';

export const EVIDENCE_COLUMNS = 'tenant_id, digest, size_bytes, content_type, created_at';

/** Every column in EVIDENCE_COLUMNS order. */
export function evidenceToRow(r: EvidenceRow): unknown[] {
  return [r.tenant_id, r.digest, r.size_bytes, r.content_type, r.created_at];
}
