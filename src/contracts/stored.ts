/**
 * Stored contracts (POST /v1/contracts): a SourceOS document is validated, then stored as a `contract.object`
 * receipt whose body carries it, and indexed by its id. One id names one document: the same id with the same
 * content is a retry (the stored receipt, nothing written), with different content a conflict.
 */
import { QuittanceError } from '../errors.js';
import { canonicalize } from '../ledger/canonical.js';
import { decodeCursor, nextCursor } from '../ledger/cursor.js';
import { sha256Hex } from '../ledger/hashing.js';
import type { Ledger, Page } from '../ledger/ledger.js';
import { LEDGER_PRINCIPAL, type Principal, type Receipt } from '../ledger/types.js';
import { CROSS_DOCUMENT_RULE, ownershipClaim } from './rules.js';
import { assertValidDocument } from './validate.js';
import type { SourceOsDocument } from './types.js';

/** The index row: contract id → the receipt carrying the document. */
export interface ContractRow {
  tenant_id: string;
  contract_id: string;
  type: string;
  /** sha256 hex of the document as canonical JSON (RFC 8785): key order and spacing do not make a new document. */
  content_hash: string;
  receipt_id: string;
  seq: number;
}

export interface StoredContract {
  row: ContractRow;
  receipt: Receipt;
}

export interface ContractFilter {
  type?: string;
  after_seq: number;
  limit: number;
}

/** What a contract.object receipt's body holds. */
export interface ContractObjectBody {
  contract_id: string;
  contract_type: string;
  document: SourceOsDocument;
}

export interface StoreContractResult {
  /** created: stored now; duplicate: the same document was already stored under its id (nothing written). */
  status: 'created' | 'duplicate';
  contract: SourceOsDocument;
  receipt: Receipt;
}

export interface ContractView {
  contract: SourceOsDocument;
  receipt: Receipt;
}

function view(s: StoredContract): ContractView {
  return { contract: (s.receipt.body as unknown as ContractObjectBody).document, receipt: s.receipt };
}

export class StoredContracts {
  constructor(private readonly ledger: Ledger) {}

  /**
   * Validates `doc` (its schema picked from its `type`, then the semantic rules) and stores it. An invalid
   * document throws QUITTANCE_ERR_CONTRACT_INVALID with every error path, before anything is written.
   */
  async store(tenantId: string, doc: unknown, by: Principal): Promise<StoreContractResult> {
    const document = assertValidDocument(doc) as SourceOsDocument;
    const contentHash = sha256Hex(canonicalize(document));
    const body: ContractObjectBody = { contract_id: document.id, contract_type: document.type, document };
    return this.ledger.store.write(async (tx) => {
      const existing = await tx.contractById(tenantId, document.id);
      if (existing) {
        if (existing.content_hash !== contentHash) {
          throw new QuittanceError('QUITTANCE_ERR_CONTRACT_CONFLICT', [document.id, existing.receipt_id], {
            details: { contract_id: document.id, receipt_id: existing.receipt_id },
          });
        }
        const [receipt] = await tx.receiptsByIds(tenantId, [existing.receipt_id]);
        if (!receipt) throw new Error(`contract ${document.id} indexes receipt ${existing.receipt_id}, which does not exist`);
        return { status: 'duplicate' as const, contract: (receipt.body as unknown as ContractObjectBody).document, receipt };
      }
      // A session has exactly one owner across the tenant's stored documents too (DESIGN §7, §9), not only within
      // one document or a set validated together: the first stored claim of a session names its owner.
      const claim = ownershipClaim(document.type, document);
      const first = claim && await tx.sessionOwnerClaim(tenantId, claim.session, claim.owner);
      if (claim && first && !first.same_owner) {
        const message = `ambiguous session ownership: session ${claim.session} is claimed by ${claim.owner} here and by another owner in stored contract ${first.contract_id}; a session has exactly one owner`;
        throw new QuittanceError('QUITTANCE_ERR_CONTRACT_INVALID', [`${claim.path}: ${message}`], {
          details: { type: document.type, errors: [{ path: claim.path, keyword: CROSS_DOCUMENT_RULE.keyword, message }] },
        });
      }
      const r = await this.ledger.appendInTx(
        tx, tenantId,
        { type: 'contract.object', from: by, to: LEDGER_PRINCIPAL, body: body as unknown as Record<string, unknown> },
        { writer: 'contracts' },
      );
      await tx.insertContract({
        tenant_id: tenantId, contract_id: document.id, type: document.type, content_hash: contentHash,
        receipt_id: r.receipt.receipt_id, seq: r.receipt.seq,
      });
      if (claim && !first) await tx.insertSessionOwnerClaim({ tenant_id: tenantId, session_ref: claim.session, owner_ref: claim.owner, contract_id: document.id });
      return { status: 'created' as const, contract: document, receipt: r.receipt };
    });
  }

  async get(tenantId: string, contractId: string): Promise<ContractView> {
    const s = await this.ledger.store.contracts.contract(tenantId, contractId);
    if (!s) throw new QuittanceError('QUITTANCE_ERR_CONTRACT_NOT_FOUND', [contractId]);
    return view(s);
  }

  /** Stored contracts in the order they were stored, optionally of one type. */
  async list(tenantId: string, q: { type?: string | undefined; cursor?: string | undefined; limit?: number | undefined }): Promise<Page<ContractView>> {
    const { pageSizeDefault, pageSizeMax } = this.ledger.config.obligations;
    const limit = Math.min(q.limit ?? pageSizeDefault, pageSizeMax);
    const rows = await this.ledger.store.contracts.listContracts(tenantId, {
      ...(q.type !== undefined && { type: q.type }),
      after_seq: decodeCursor(q.cursor),
      limit,
    });
    return { items: rows.map(view), cursor: nextCursor(rows, limit, (x) => x.row.seq) };
  }
}
