import type { Receipt } from '../../ledger/types.js';
import type { ContractRow, StoredContract } from '../../contracts/stored.js';

export const CONTRACT_COLUMNS = 'tenant_id, contract_id, type, content_hash, receipt_id, seq';

/** A contract joined with its receipt: `c` and `r` in CONTRACT_JOIN. */
export const CONTRACT_JOIN = 'contracts c JOIN receipts r ON r.tenant_id = c.tenant_id AND r.seq = c.seq';
/** The contract's columns of CONTRACT_JOIN, each as `c_<column>` so it cannot clash with the receipt's. */
export const CONTRACT_JOIN_COLUMNS = CONTRACT_COLUMNS.split(', ').map((c) => `c.${c} AS c_${c}`).join(', ');

/** A CONTRACT_JOIN row: the backend's receipt row `R` and the contract's columns. */
export type ContractJoinedRow<R> = R & { c_tenant_id: string; c_contract_id: string; c_type: string; c_content_hash: string; c_receipt_id: string; c_seq: number };

export function storedContract<R>(j: ContractJoinedRow<R>, rowToReceipt: (row: R) => Receipt): StoredContract {
  return {
    row: { tenant_id: j.c_tenant_id, contract_id: j.c_contract_id, type: j.c_type, content_hash: j.c_content_hash, receipt_id: j.c_receipt_id, seq: j.c_seq },
    receipt: rowToReceipt(j),
  };
}

/** Every column in CONTRACT_COLUMNS order. */
export function contractToRow(r: ContractRow): unknown[] {
  return [r.tenant_id, r.contract_id, r.type, r.content_hash, r.receipt_id, r.seq];
}
