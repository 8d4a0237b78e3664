import type { Pool, QueryResultRow } from 'pg';
import type { ContractReads, ContractTx } from '../types.js';
import type { ContractFilter, ContractRow, StoredContract } from '../../contracts/stored.js';
import { CONTRACT_COLUMNS, CONTRACT_JOIN, CONTRACT_JOIN_COLUMNS, contractToRow, storedContract, type ContractJoinedRow } from '../codecs/contracts.js';
import { sha256Hex } from '../../ledger/hashing.js';
import { type PgBatch } from './batch.js';
import { readableParams, tuple } from './values.js';
import { receiptColumnsOf, rowToReceipt, type PgReceiptRow } from './rows.js';

const JOINED = `${CONTRACT_JOIN_COLUMNS}, ${receiptColumnsOf('r')}`;

type JoinedRow = ContractJoinedRow<PgReceiptRow>;

function stored(j: JoinedRow): StoredContract {
  return storedContract(j, rowToReceipt);
}

const SQL = {
  byId: `SELECT ${CONTRACT_COLUMNS} FROM contracts WHERE tenant_id = $1 AND contract_id = $2`,
  claim: 'SELECT owner_hash, contract_id FROM contract_session_owners WHERE tenant_id = $1 AND session_hash = $2',
  joinedById: `SELECT ${JOINED} FROM ${CONTRACT_JOIN} WHERE c.tenant_id = $1 AND c.contract_id = $2`,
  all: `SELECT ${JOINED} FROM ${CONTRACT_JOIN} WHERE c.tenant_id = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3`,
  ofType: `SELECT ${JOINED} FROM ${CONTRACT_JOIN} WHERE c.tenant_id = $1 AND c.type = $2 AND c.seq > $3 ORDER BY c.seq LIMIT $4`,
} as const;

/**
 * The contract index of one batch (see PgBatch). The tenant is taken before the lookup, so the same contract id
 * stored through two servers at once is decided one after the other: the second finds the first's row and answers
 * `duplicate` (or the content conflict), never a unique violation.
 */
export function pgContractTx(b: PgBatch): ContractTx {
  return {
    async sessionOwnerClaim(tenantId, sessionRef, ownerRef) {
      await b.lockTenant(tenantId);
      const c = (await b.read<{ owner_hash: string; contract_id: string }>('q_con_claim', SQL.claim, [tenantId, sha256Hex(sessionRef)]))[0];
      return c && { contract_id: c.contract_id, same_owner: c.owner_hash === sha256Hex(ownerRef) };
    },
    async insertSessionOwnerClaim(r) {
      await b.lockTenant(r.tenant_id);
      // Hashes, not the refs: a sessionRef may be longer than an index entry holds, and either may hold U+0000.
      b.buffer(`INSERT INTO contract_session_owners (tenant_id, session_hash, owner_hash, contract_id) VALUES ${tuple([r.tenant_id, sha256Hex(r.session_ref), sha256Hex(r.owner_ref), r.contract_id])}`, {
        expectRows: 1, what: `recording the owner of session ${r.session_ref}`,
      });
    },
    async contractById(tenantId, contractId) {
      await b.lockTenant(tenantId);
      return (await b.read<ContractRow>('q_con_byId', SQL.byId, [tenantId, contractId]))[0];
    },
    async insertContract(r) {
      await b.lockTenant(r.tenant_id);
      b.buffer(`INSERT INTO contracts (${CONTRACT_COLUMNS}) VALUES ${tuple(contractToRow(r))}`, { expectRows: 1, what: `inserting contract ${r.contract_id}` });
    },
  };
}

/** Stored contracts with their receipts, through the pool (committed data only); each waits for the migrations. */
export class PgContractReads implements ContractReads {
  constructor(private readonly pool: Pool, private readonly ready: () => Promise<unknown>) {}

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
    await this.ready();
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }
}
