import type { Database, Statement } from 'better-sqlite3';
import type { Receipt } from '../../ledger/types.js';
import type { ChainHead, ChainRow, LedgerTx, ObligationState, OpenObligationFilter, ReceiptFilter, ReceiptRef, ReceiptText } from '../types.js';
import { GENESIS_HASH } from '../../ledger/types.js';
import { jsonToReceipt, rowToObligationState, type ObligationRow } from '../codecs/receipts.js';
import { DeliveredTexts } from '../delivered-texts.js';
import { RECEIPT_COLUMNS, hashKey, receiptJson, receiptToRow, rowToChainRow, rowToReceipt, type ReceiptRow } from './rows.js';

const GENESIS: ChainHead = Object.freeze({ seq: 0, chain_hash: GENESIS_HASH });
const PLACEHOLDERS = RECEIPT_COLUMNS.split(',').map(() => '?').join(', ');
const RECEIPT_JSON = receiptJson();

interface CachedHead {
  readonly head: ChainHead;
  readonly dirty: boolean;
}

/**
 * The chain heads of the open write transaction, kept in memory: an append reads and advances its tenant's head
 * without a query, and each head changed is written once, just before COMMIT. BEGIN IMMEDIATE holds the database's
 * write lock for the whole transaction, so no other connection can move a head meanwhile. Savepoints snapshot
 * the map (a handful of tenants at most) so a rolled-back write rolls its head back too.
 */
export class TxChainHeads {
  // Entries are replaced, never mutated, so a shallow copy of the map is a snapshot.
  private heads = new Map<string, CachedHead>();
  private readonly read: Statement<[string], ChainHead>;
  private readonly write: Statement;

  constructor(db: Database) {
    this.read = db.prepare('SELECT seq, chain_hash FROM chain_heads WHERE tenant_id = ?');
    this.write = db.prepare(
      'INSERT INTO chain_heads (tenant_id, seq, chain_hash) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, chain_hash = excluded.chain_hash',
    );
  }

  get(tenantId: string): ChainHead {
    const cached = this.heads.get(tenantId);
    if (cached) return cached.head;
    const head = this.read.get(tenantId) ?? GENESIS;
    this.heads.set(tenantId, { head, dirty: false });
    return head;
  }

  set(tenantId: string, head: ChainHead): void {
    this.heads.set(tenantId, { head: { seq: head.seq, chain_hash: head.chain_hash }, dirty: true });
  }

  snapshot(): ReadonlyMap<string, CachedHead> {
    return new Map(this.heads);
  }

  restore(snapshot: ReadonlyMap<string, CachedHead>): void {
    this.heads = new Map(snapshot);
  }

  /** Writes the changed heads; call inside the transaction, right before COMMIT. */
  flush(): void {
    for (const [tenantId, { head, dirty }] of this.heads) {
      if (dirty) this.write.run(tenantId, head.seq, head.chain_hash);
    }
    this.heads.clear();
  }

  /** The transaction ended without committing: forget everything it read or moved. */
  discard(): void {
    this.heads.clear();
  }
}

/** Receipt writes on the writer connection, used inside the group-committed transaction. */
export function sqliteLedgerTx(db: Database, heads: TxChainHeads): LedgerTx {
  const s = {
    byHash: db.prepare<[number, string, string], ReceiptRow>(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE hash_key = ? AND tenant_id = ? AND hash = ?`),
    byKey: db.prepare<[string, string], ReceiptRow>(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = ? AND idempotency_key = ?`),
    byId: db.prepare<[string, string], ReceiptRow>(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE receipt_id = ? AND tenant_id = ?`),
    typeById: db.prepare<[string, string], ReceiptRef>('SELECT receipt_id, type FROM receipts WHERE receipt_id = ? AND tenant_id = ?'),
    obligation: db.prepare<[string, string], ObligationRow>(
      'SELECT receipt_id, type, closed_by, closed_at FROM obligations WHERE tenant_id = ? AND receipt_id = ?',
    ),
    insert: db.prepare(`INSERT INTO receipts (${RECEIPT_COLUMNS}) VALUES (${PLACEHOLDERS})`),
    open: db.prepare('INSERT INTO obligations (tenant_id, receipt_id, seq, type, to_kind, to_id) VALUES (?, ?, ?, ?, ?, ?)'),
    close: db.prepare('UPDATE obligations SET closed_by = ?, closed_at = ? WHERE tenant_id = ? AND receipt_id = ? AND closed_by IS NULL'),
    delivered: db.prepare('UPDATE receipts SET delivered_at = ? WHERE receipt_id = ? AND tenant_id = ? AND delivered_at IS NULL'),
    deliveredAt: db.prepare<[string, string], { delivered_at: string | null }>('SELECT delivered_at FROM receipts WHERE receipt_id = ? AND tenant_id = ?'),
  };
  return {
    async chainHead(tenantId) {
      return heads.get(tenantId);
    },
    async setChainHead(tenantId, head) {
      heads.set(tenantId, head);
    },
    async receiptByHash(tenantId, hash) {
      const row = s.byHash.get(hashKey(hash), tenantId, hash);
      return row && rowToReceipt(row);
    },
    async receiptByIdempotencyKey(tenantId, key) {
      const row = s.byKey.get(tenantId, key);
      return row && rowToReceipt(row);
    },
    async receiptsByIds(tenantId, ids) {
      const out: Receipt[] = [];
      for (const id of ids) {
        const row = s.byId.get(id, tenantId);
        if (row) out.push(rowToReceipt(row));
      }
      return out;
    },
    async receiptTypes(tenantId, ids) {
      const out: ReceiptRef[] = [];
      for (const id of ids) {
        const row = s.typeById.get(id, tenantId);
        if (row) out.push(row);
      }
      return out;
    },
    async obligationStates(tenantId, ids) {
      const out: ObligationState[] = [];
      for (const id of ids) {
        const row = s.obligation.get(tenantId, id);
        if (row) out.push(rowToObligationState(row));
      }
      return out;
    },
    async insertReceipt(r, texts) {
      s.insert.run(receiptToRow(r, texts));
    },
    async openObligation(r) {
      s.open.run(r.tenant_id, r.receipt_id, r.seq, r.type, r.to.kind, r.to.id);
    },
    async closeObligation(tenantId, obligationId, closedBy, closedAt) {
      const info = s.close.run(closedBy, closedAt, tenantId, obligationId);
      // The append rules checked the obligation was open in this same transaction; anything else is a bug.
      if (info.changes !== 1) throw new Error(`obligation ${obligationId} was not open`);
    },
    async markDelivered(tenantId, ids, at) {
      const out = new Map<string, string>();
      for (const id of ids) {
        s.delivered.run(at, id, tenantId);
        const row = s.deliveredAt.get(id, tenantId);
        if (row?.delivered_at) out.set(id, row.delivered_at);
      }
      return out;
    },
  };
}

interface OpenRow {
  seq: number;
  receipt_id: string;
}

/** Reads on the reader connection (WAL: sees committed data only, never blocks the writer). */
export class SqliteLedgerReads {
  private readonly byId: Statement<[string, string], ReceiptRow>;
  private readonly obligation: Statement<[string, string], ObligationRow>;
  private readonly openAll: Statement<[string, number, number], OpenRow>;
  private readonly openTo: Statement<[string, string, string, number, number], OpenRow>;
  private readonly textBySeq: Statement<[string, number], { delivered: number; json: string }>;
  /** JSON texts of delivered receipts (see DeliveredTexts). */
  private readonly delivered = new DeliveredTexts();
  private readonly segment: Statement<[string, number, number], ReceiptRow>;
  private readonly head: Statement<[string], ChainHead>;
  private readonly listCache = new Map<string, Statement<unknown[], string>>();

  constructor(private readonly db: Database) {
    this.byId = db.prepare(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE receipt_id = ? AND tenant_id = ?`);
    this.obligation = db.prepare('SELECT receipt_id, type, closed_by, closed_at FROM obligations WHERE tenant_id = ? AND receipt_id = ?');
    // A page of open obligations is read from the obligations index alone; each receipt's JSON text comes from
    // DeliveredTexts or, for the rest, is built by SQLite (see receiptJson), one receipt at a time.
    this.openAll = db.prepare<[string, number, number], OpenRow>(
      'SELECT seq, receipt_id FROM obligations WHERE tenant_id = ? AND closed_by IS NULL AND seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)',
    );
    this.openTo = db.prepare<[string, string, string, number, number], OpenRow>(
      `SELECT seq, receipt_id FROM obligations
       WHERE tenant_id = ? AND to_kind = ? AND to_id = ? AND closed_by IS NULL AND seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)`,
    );
    this.textBySeq = db.prepare(`SELECT delivered_at IS NOT NULL AS delivered, ${RECEIPT_JSON} AS json FROM receipts WHERE tenant_id = ? AND seq = ?`);
    this.segment = db.prepare(`SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = ? AND seq >= ? ORDER BY seq LIMIT CAST(? AS INTEGER)`);
    this.head = db.prepare('SELECT seq, chain_hash FROM chain_heads WHERE tenant_id = ?');
  }

  receipt(tenantId: string, id: string): Receipt | undefined {
    const row = this.byId.get(id, tenantId);
    return row && rowToReceipt(row);
  }

  obligationState(tenantId: string, id: string): ObligationState | undefined {
    const row = this.obligation.get(tenantId, id);
    return row && rowToObligationState(row);
  }

  openObligationRows(tenantId: string, afterSeq: number, limit: number): { seq: number; receipt_id: string; type: string }[] {
    return this.db
      .prepare('SELECT seq, receipt_id, type FROM obligations WHERE tenant_id = ? AND closed_by IS NULL AND seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)')
      .all(tenantId, afterSeq, limit) as { seq: number; receipt_id: string; type: string }[];
  }

  openObligations(tenantId: string, f: OpenObligationFilter): Receipt[] {
    return this.openObligationsText(tenantId, f).flatMap((r) => (r.json === null ? [] : [jsonToReceipt(r.json)]));
  }

  openObligationsText(tenantId: string, f: OpenObligationFilter): ReceiptText[] {
    const rows = f.principal
      ? this.openTo.all(tenantId, f.principal.kind, f.principal.id, f.after_seq, f.limit)
      : this.openAll.all(tenantId, f.after_seq, f.limit);
    // The statements run one after another, not in one read transaction: a receipt's text never changes but for
    // delivered_at being set once, and an obligation closed meanwhile is served as open, as it would have been by
    // a request a moment earlier.
    const { kept, missing } = this.delivered.lookup(tenantId, rows);
    const read = missing.flatMap((seq) => {
      const r = this.textBySeq.get(tenantId, seq);
      return r === undefined ? [] : [{ seq, delivered: Boolean(r.delivered), json: r.json }];
    });
    return this.delivered.assemble(tenantId, rows, kept, read);
  }

  listReceipts(tenantId: string, f: ReceiptFilter): Receipt[] {
    const where = ['tenant_id = ?', 'seq > ?'];
    const args: unknown[] = [tenantId, f.after_seq];
    if (f.type !== undefined) (where.push('type = ?'), args.push(f.type));
    if (f.task_id !== undefined) (where.push('task_id = ?'), args.push(f.task_id));
    if (f.since !== undefined) (where.push('created_at >= ?'), args.push(f.since));
    if (f.principal !== undefined) {
      where.push('((from_kind = ? AND from_id = ?) OR (to_kind = ? AND to_id = ?))');
      args.push(f.principal.kind, f.principal.id, f.principal.kind, f.principal.id);
    }
    args.push(f.limit);
    const sql = `SELECT ${RECEIPT_JSON} FROM receipts WHERE ${where.join(' AND ')} ORDER BY seq LIMIT CAST(? AS INTEGER)`;
    let stmt = this.listCache.get(sql);
    if (!stmt) {
      stmt = (this.db.prepare(sql) as Statement<unknown[], string>).pluck();
      this.listCache.set(sql, stmt);
    }
    return stmt.all(...args).map(jsonToReceipt);
  }

  chainSegment(tenantId: string, fromSeq: number, limit: number): ChainRow[] {
    return this.segment.all(tenantId, fromSeq, limit).map(rowToChainRow);
  }

  chainHead(tenantId: string): ChainHead {
    return this.head.get(tenantId) ?? GENESIS;
  }
}
