import type { Database, Statement } from 'better-sqlite3';
import type { ContractReads, ContractTx } from '../types.js';
import type { ContractFilter, ContractRow, StoredContract } from '../../contracts/stored.js';
import { RECEIPT_COLUMNS, rowToReceipt, type ReceiptRow } from './rows.js';

const COLUMNS = 'tenant_id, contract_id, type, content_hash, receipt_id, seq';
const JOINED = `${COLUMNS.split(', ').map((c) => `c.${c} AS c_${c}`).join(', ')}, ${RECEIPT_COLUMNS.split(', ').map((c) => 'r.' + c).join(', ')}`;
const FROM = 'contracts c JOIN receipts r ON r.tenant_id = c.tenant_id AND r.seq = c.seq';

type JoinedRow = ReceiptRow & { c_tenant_id: string; c_contract_id: string; c_type: string; c_content_hash: string; c_receipt_id: string; c_seq: number };

function stored(j: JoinedRow): StoredContract {
  return {
    row: { tenant_id: j.c_tenant_id, contract_id: j.c_contract_id, type: j.c_type, content_hash: j.c_content_hash, receipt_id: j.c_receipt_id, seq: j.c_seq },
    receipt: rowToReceipt(j),
  };
}

/** The contract index on the writer connection, inside the group-committed transaction. */
export function sqliteContractTx(db: Database): ContractTx {
  const byId = db.prepare<[string, string], ContractRow>(`SELECT ${COLUMNS} FROM contracts WHERE tenant_id = ? AND contract_id = ?`);
  const insert = db.prepare(`INSERT INTO contracts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
  return {
    async contractById(tenantId, contractId) {
      return byId.get(tenantId, contractId);
    },
    async insertContract(r) {
      insert.run(r.tenant_id, r.contract_id, r.type, r.content_hash, r.receipt_id, r.seq);
    },
  };
}

/** Stored contracts with their receipts, on the reader connection. */
export class SqliteContractReads implements ContractReads {
  private readonly byId: Statement<[string, string], JoinedRow>;
  private readonly all: Statement<[string, number, number], JoinedRow>;
  private readonly ofType: Statement<[string, string, number, number], JoinedRow>;

  constructor(db: Database) {
    this.byId = db.prepare(`SELECT ${JOINED} FROM ${FROM} WHERE c.tenant_id = ? AND c.contract_id = ?`);
    this.all = db.prepare(`SELECT ${JOINED} FROM ${FROM} WHERE c.tenant_id = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`);
    this.ofType = db.prepare(`SELECT ${JOINED} FROM ${FROM} WHERE c.tenant_id = ? AND c.type = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`);
  }

  async contract(tenantId: string, contractId: string): Promise<StoredContract | undefined> {
    const j = this.byId.get(tenantId, contractId);
    return j && stored(j);
  }

  async listContracts(tenantId: string, f: ContractFilter): Promise<StoredContract[]> {
    const rows = f.type === undefined ? this.all.all(tenantId, f.after_seq, f.limit) : this.ofType.all(tenantId, f.type, f.after_seq, f.limit);
    return rows.map(stored);
  }
}
