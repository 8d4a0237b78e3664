/** Runtime installs (DESIGN §8): one chain of runtime.install receipts per runtime on a target. */

/** The install states of a RuntimeInstallReceipt (schemas/RuntimeInstallReceipt.schema.json). */
export const INSTALL_STATES = [
  'requested',
  'manifest_resolved',
  'artifact_verified',
  'installing',
  'installed',
  'failed',
  'rolled_back',
  'partial',
  'denied',
  'deferred',
] as const;
export type InstallState = (typeof INSTALL_STATES)[number];

/** The head of one runtime's chain on one target, as the store keeps it. */
export interface RuntimeInstallRow {
  tenant_id: string;
  /** receipt_id of the chain's first receipt: the install's stable id. */
  install_id: string;
  runtime_ref: string;
  target_ref: string;
  head_receipt_id: string;
  /** id of the head receipt's RuntimeInstallReceipt document. */
  head_document_id: string;
  install_state: InstallState;
  manifest_digest: string;
  /** startedAt of the head's document. */
  started_at: string;
  /** Receipts in the chain. */
  links: number;
  updated_at: string;
}
