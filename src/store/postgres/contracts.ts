import type { Pool, QueryResultRow } from 'pg';
import type { ContractReads, ContractTx } from '../types.js';
import type { ContractFilter, ContractRow, StoredContract } from '../../contracts/stored.js';
import { readableParams, tuple, type PgBatch } from './batch.js';
import { receiptColumnsOf, rowToReceipt, type PgReceiptRow } from './rows.js';

const COLUMNS = 'tenant_id, contract_id, type, content_hash, receipt_id, seq';
const JOINED = `${COLUMNS.split(', ').map((c) => `c.${c} AS c_${c}`).join(', ')}, ${receiptColumnsOf('r')}`;
const FROM = 'contracts c JOIN receipts r ON r.tenant_id = c.tenant_id AND r.seq = c.seq';

type JoinedRow = PgReceiptRow & { c_tenant_id: string; c_contract_id: string; c_type: string; c_content_hash: string; c_receipt_id: string; c_seq: number };

function stored(j: JoinedRow): StoredContract {
  return {
    row: { tenant_id: j.c_tenant_id, contract_id: j.c_contract_id, type: j.c_type, content_hash: j.c_content_hash, receipt_id: j.c_receipt_id, seq: j.c_seq },
    receipt: rowToReceipt(j),
  };
}

const SQL = {
  byId: `SELECT ${COLUMNS} FROM contracts WHERE tenant_id = $1 AND contract_id = $2`,
  joinedById: `SELECT ${JOINED} FROM ${FROM} WHERE c.tenant_id = $1 AND c.contract_id = $2`,
  all: `SELECT ${JOINED} FROM ${FROM} WHERE c.tenant_id = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3`,
  ofType: `SELECT ${JOINED} FROM ${FROM} WHERE c.tenant_id = $1 AND c.type = $2 AND c.seq > $3 ORDER BY c.seq LIMIT $4`,
} as const;

/**
 * The contract index of one batch (see PgBatch). The tenant is taken before the lookup, so the same contract id
 * stored through two servers at once is decided one after the other: the second finds the first's row and answers
 * `duplicate` (or the content conflict), never a unique violation.
 */
export function pgContractTx(b: PgBatch): ContractTx {
  return {
    async contractById(tenantId, contractId) {
      await b.lockTenant(tenantId);
      return (await b.read<ContractRow>('q_con_byId', SQL.byId, [tenantId, contractId]))[0];
    },
    async insertContract(r) {
      await b.lockTenant(r.tenant_id);
      const row = [r.tenant_id, r.contract_id, r.type, r.content_hash, r.receipt_id, r.seq];
      b.buffer(`INSERT INTO contracts (${COLUMNS}) VALUES ${tuple(row)}`, { expectRows: 1, what: `inserting contract ${r.contract_id}` });
    },
  };
}

/** Stored contracts with their receipts, through the pool (committed data only); each waits for the migrations. */
export class PgContractReads implements ContractReads {
  constructor(private readonly pool: Pool, private readonly ready: Promise<unknown>) {}

  async contract(tenantId: string, contractId: string): Promise<StoredContract | undefined> {
    const j = (await this.rows<JoinedRow>('r_con_byId', SQL.joinedById, [tenantId, contractId]))[0];
    return j && stored(j);
  }

  async listContracts(tenantId: string, f: ContractFilter): Promise<StoredContract[]> {
    const rows = f.type === undefined
      ? await this.rows<JoinedRow>('r_con_all', SQL.all, [tenantId, f.after_seq, f.limit])
      : await this.rows<JoinedRow>('r_con_ofType', SQL.ofType, [tenantId, f.type, f.after_seq, f.limit]);
    return rows.map(stored);
  }

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    await this.ready;
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
