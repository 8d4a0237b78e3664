import type { Database, Statement } from 'better-sqlite3';
import type { ContractReads, ContractTx } from '../types.js';
import type { ContractFilter, ContractRow, StoredContract } from '../../contracts/stored.js';
import { CONTRACT_COLUMNS, CONTRACT_JOIN, CONTRACT_JOIN_COLUMNS, contractToRow, storedContract, type ContractJoinedRow } from '../codecs/contracts.js';
import { RECEIPT_COLUMNS, rowToReceipt, type ReceiptRow } from './rows.js';

const JOINED = `${CONTRACT_JOIN_COLUMNS}, ${RECEIPT_COLUMNS.split(', ').map((c) => 'r.' + c).join(', ')}`;

type JoinedRow = ContractJoinedRow<ReceiptRow>;

function stored(j: JoinedRow): StoredContract {
  return storedContract(j, rowToReceipt);
}

/** The contract index on the writer connection, inside the group-committed transaction. */
export function sqliteContractTx(db: Database): ContractTx {
  const byId = db.prepare<[string, string], ContractRow>(`SELECT ${CONTRACT_COLUMNS} FROM contracts WHERE tenant_id = ? AND contract_id = ?`);
  const insert = db.prepare(`INSERT INTO contracts (${CONTRACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
  const claim = db.prepare<[string, string], { owner_ref: string; contract_id: string }>(
    'SELECT owner_ref, contract_id FROM contract_session_owners WHERE tenant_id = ? AND session_ref = ?',
  );
  const insertClaim = db.prepare('INSERT INTO contract_session_owners (tenant_id, session_ref, owner_ref, contract_id) VALUES (?, ?, ?, ?)');
  return {
    async sessionOwnerClaim(tenantId, sessionRef, ownerRef) {
      const c = claim.get(tenantId, sessionRef);
      return c && { contract_id: c.contract_id, same_owner: c.owner_ref === ownerRef };
    },
    async insertSessionOwnerClaim(r) {
      insertClaim.run(r.tenant_id, r.session_ref, r.owner_ref, r.contract_id);
    },
    async contractById(tenantId, contractId) {
      return byId.get(tenantId, contractId);
    },
    async insertContract(r) {
      insert.run(...contractToRow(r));
    },
  };
}

/** Stored contracts with their receipts, on the reader connection. */
export class SqliteContractReads implements ContractReads {
  private readonly byId: Statement<[string, string], JoinedRow>;
  private readonly all: Statement<[string, number, number], JoinedRow>;
  private readonly ofType: Statement<[string, string, number, number], JoinedRow>;

  constructor(db: Database) {
    this.byId = db.prepare(`SELECT ${JOINED} FROM ${CONTRACT_JOIN} WHERE c.tenant_id = ? AND c.contract_id = ?`);
    this.all = db.prepare(`SELECT ${JOINED} FROM ${CONTRACT_JOIN} WHERE c.tenant_id = ? AND c.seq > ? ORDER BY c.seq LIMIT CAST(? AS INTEGER)`);
    this.ofType = db.prepare(`SELECT ${JOINED} FROM ${CONTRACT_JOIN} WHERE c.tenant_id = ? AND c.type = ? AND c.seq > ? ORDER BY c.seq LIMIT CAST(? AS INTEGER)`);
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
