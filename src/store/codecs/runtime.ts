import type { RuntimeInstallRow } from '../../runtime/types.js';

export const RUNTIME_INSTALL_COLUMNS =
  'tenant_id, install_id, runtime_ref, target_ref, head_receipt_id, head_document_id, install_state, manifest_digest, started_at, links, updated_at';

/** Every column in RUNTIME_INSTALL_COLUMNS order. */
export function runtimeInstallToRow(r: RuntimeInstallRow): unknown[] {
  return [
    r.tenant_id, r.install_id, r.runtime_ref, r.target_ref, r.head_receipt_id, r.head_document_id, r.install_state,
    r.manifest_digest, r.started_at, r.links, r.updated_at,
  ];
}
