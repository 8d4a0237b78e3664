import { chainHash, contentHash } from './hashing.js';
import { contentOf } from './append.js';
import { GENESIS_HASH, type Receipt } from './types.js';
import { isObligationType, isSuccessTerminator, isTerminatorType } from './registry.js';
import type { ChainRow, Store } from '../store/types.js';

export interface ChainCheck {
  ok: boolean;
  tenant_id: string;
  receipts: number;
  head_seq: number;
  /** The first seq whose receipt does not verify. */
  first_bad_seq?: number;
  reason?: string;
}

/**
 * Incremental chain verification over a tenant's receipts in seq order: seq gapless from 1, each content hash
 * recomputed from the stored fields, each prev_hash equal to the previous chain_hash, each chain_hash recomputed.
 * Feed segments with `add`; ask `result` at the end with the stored chain head.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prev = GENESIS_HASH;
  private count = 0;
  private bad: { seq: number; reason: string } | undefined;
  /**
   * With `obligations`: the obligations the receipts leave open (receipt id → seq), derived as the append path
   * keeps them (an obligation type opens one; a receipt that discharges closes its parents, the first one wins).
   */
  readonly open: Map<string, number> | undefined;

  constructor(readonly tenantId: string, options: { obligations?: boolean } = {}) {
    this.open = options.obligations ? new Map() : undefined;
  }

  get failed(): boolean {
    return this.bad !== undefined;
  }

  add(rows: readonly ChainRow[]): void {
    for (const row of rows) {
      if (this.bad) return;
      this.count++;
      const r = row.receipt;
      if (!r) {
        this.bad = { seq: row.seq, reason: row.defect ?? 'unreadable receipt' };
        return;
      }
      const reason = this.check(r);
      if (reason) {
        this.bad = { seq: r.seq === this.expectedSeq ? r.seq : this.expectedSeq, reason };
        return;
      }
      this.prev = r.chain_hash;
      this.expectedSeq++;
      if (this.open) {
        if (isObligationType(r.type)) this.open.set(r.receipt_id, r.seq);
        if (r.discharges) for (const p of r.parents) this.open.delete(p);
      }
    }
  }

  private check(r: Receipt): string | undefined {
    if (r.seq !== this.expectedSeq) return `expected seq ${this.expectedSeq}, found ${r.seq}`;
    if (r.tenant_id !== this.tenantId) return 'receipt belongs to another tenant';
    if (r.prev_hash !== this.prev) return 'prev_hash does not match the previous chain_hash';
    let hash: string;
    try {
      hash = contentHash(contentOf(r));
    } catch (e) {
      return `content cannot be re-hashed: ${(e as Error).message}`;
    }
    if (hash !== r.hash) return 'content hash does not match the stored fields';
    if (chainHash(r.prev_hash, r.receipt_id, r.seq, r.created_at, r.hash) !== r.chain_hash) return 'chain_hash does not match';
    // discharges is not hashed but is fully determined by hashed fields: recompute it.
    const unlocatable = isSuccessTerminator(r.type) && r.artifacts === undefined && r.delivery_proof === undefined;
    if (r.discharges !== (isTerminatorType(r.type) && !unlocatable)) return 'discharges flag does not follow from the receipt';
    return undefined;
  }

  result(head: { seq: number; chain_hash: string }): ChainCheck {
    const base = { tenant_id: this.tenantId, receipts: this.count, head_seq: head.seq };
    if (this.bad) return { ...base, ok: false, first_bad_seq: this.bad.seq, reason: this.bad.reason };
    if (head.seq !== this.expectedSeq - 1 || head.chain_hash !== this.prev) {
      return { ...base, ok: false, first_bad_seq: Math.min(head.seq, this.expectedSeq), reason: 'chain head does not match the last receipt (receipts missing or head altered)' };
    }
    return { ...base, ok: true };
  }
}

/**
 * The open-obligations projection (what `GET /v1/obligations/open` lists) held to the receipts up to `headSeq`:
 * every obligation the chain leaves open is listed, and nothing else is. A receipt that closes, or an obligation
 * that opens, after `headSeq` (a server appending while the check runs) is not a difference. Undefined when they
 * agree; otherwise the first difference in seq order.
 */
export async function checkOpenObligations(
  store: Pick<Store, 'openObligationRows' | 'obligationState' | 'receipt'>,
  tenantId: string,
  expected: ReadonlyMap<string, number>,
  headSeq: number,
): Promise<{ seq: number; reason: string } | undefined> {
  const listed = new Set<string>();
  let first: { seq: number; reason: string } | undefined;
  const found = (seq: number, reason: string) => {
    if (!first || seq < first.seq) first = { seq, reason };
  };
  for (let after = 0; ;) {
    const page = await store.openObligationRows(tenantId, after, 1000);
    for (const r of page) {
      if (r.seq > headSeq) break;
      listed.add(r.receipt_id);
      if (!expected.has(r.receipt_id)) {
        found(r.seq, isObligationType(r.type)
          ? 'open-obligations projection lists an obligation that a receipt in the chain closed'
          : `open-obligations projection lists a ${r.type} receipt, which is not an obligation`);
      }
    }
    if (page.length < 1000 || page[page.length - 1]!.seq > headSeq) break;
    after = page[page.length - 1]!.seq;
  }
  for (const [id, seq] of expected) {
    if (listed.has(id) || (first && first.seq < seq)) continue;
    const state = await store.obligationState(tenantId, id);
    const closer = state?.closed_by !== undefined ? await store.receipt(tenantId, state.closed_by) : undefined;
    if (closer && closer.seq > headSeq) continue; // closed since the check read the head
    found(seq, !state
      ? 'open-obligations projection has no row for an obligation the chain leaves open'
      : state.open
        ? 'open-obligations projection does not list an obligation the chain leaves open'
        : 'open-obligations projection has the obligation closed, but no receipt in the chain closed it');
  }
  return first;
}
