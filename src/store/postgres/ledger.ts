import type { Pool, QueryResultRow } from 'pg';
import type { Receipt } from '../../ledger/types.js';
import { GENESIS_HASH } from '../../ledger/types.js';
import type { ChainHead, ChainRow, LedgerTx, ObligationState, OpenObligationFilter, ReceiptFilter, ReceiptText } from '../types.js';
import { type PgBatch } from './batch.js';
import { literal, readableParams } from './values.js';
import { jsonToReceipt, rowToObligationState, type ObligationRow } from '../codecs/receipts.js';
import { DeliveredTexts, type ReadText } from '../delivered-texts.js';
import { RECEIPT_COLUMNS, prefixedColumns, receiptColumnsOf, receiptJson, unprefixed, receiptToRow, rowToChainRow, rowToReceipt, type PgReceiptRow } from './rows.js';

const GENESIS: ChainHead = Object.freeze({ seq: 0, chain_hash: GENESIS_HASH });
const R_COLS = receiptColumnsOf('r');
const RECEIPT_JSON = receiptJson();

const SQL = {
  byHash: `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE hash = $2 AND tenant_id = $1`,
  byKey: `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = $1 AND idempotency_key = $2`,
  // With each receipt its obligation state, if it is one: the append rules ask for both about the same parents.
  byIds: `SELECT ${R_COLS}, o.type AS ob_type, o.closed_by AS ob_closed_by, o.closed_at AS ob_closed_at
          FROM receipts r LEFT JOIN obligations o ON o.tenant_id = r.tenant_id AND o.receipt_id = r.receipt_id
          WHERE r.tenant_id = $1 AND r.receipt_id = ANY($2::text[])`,
  obligations: 'SELECT receipt_id, type, closed_by, closed_at FROM obligations WHERE tenant_id = $1 AND receipt_id = ANY($2::text[])',
  delivered: 'UPDATE receipts SET delivered_at = $3 WHERE tenant_id = $1 AND receipt_id = ANY($2::text[]) AND delivered_at IS NULL',
  deliveredAt: 'SELECT receipt_id, delivered_at FROM receipts WHERE tenant_id = $1 AND receipt_id = ANY($2::text[])',
  // Everything the append rules will ask about one receipt, in one round trip: the stored receipt with its hash, the
  // one with its idempotency key, and its parents with their obligation states. One branch per index.
  // What appends look up before writing, for one receipt or a whole batch: receipts with any of the hashes ($2),
  // any of the idempotency keys ($3), and the parents ($4) with their obligation states.
  forAppend: `SELECT 'h' AS via, ${R_COLS}, NULL AS ob_type, NULL AS ob_closed_by, NULL AS ob_closed_at
               FROM receipts r WHERE r.tenant_id = $1 AND r.hash = ANY($2::text[])
              UNION ALL
              SELECT 'k', ${R_COLS}, NULL, NULL, NULL FROM receipts r WHERE r.tenant_id = $1 AND r.idempotency_key = ANY($3::text[])
              UNION ALL
              SELECT 'i', ${R_COLS}, o.type, o.closed_by, o.closed_at
               FROM receipts r LEFT JOIN obligations o ON o.tenant_id = r.tenant_id AND o.receipt_id = r.receipt_id
               WHERE r.tenant_id = $1 AND r.receipt_id = ANY($4::text[])`,
} as const;

const INSERT_RECEIPT = `INSERT INTO receipts (${RECEIPT_COLUMNS})`;
const INSERT_OBLIGATION = 'INSERT INTO obligations (tenant_id, receipt_id, seq, type, to_kind, to_id, closed_by, closed_at)';
const OB_CLOSED_BY = 6;
const OB_CLOSED_AT = 7;

type ByIdRow = PgReceiptRow & { ob_type: string | null; ob_closed_by: string | null; ob_closed_at: string | null };

// ── parents brought along ──

/**
 * A receipt with its obligation state, for reads of other tables that bring along the receipts a write will append
 * under (a lease's lease.granted, a task's task.assigned): `SELECT ..., ${PARENT_COLUMNS_PREFIXED} FROM ... JOIN
 * ${PARENT_FROM} ON r.tenant_id = ... AND r.receipt_id = ...`, each receipt column named `p_<column>` (the other
 * side of the join has columns of the same names).
 */
export const PARENT_FROM = 'receipts r LEFT JOIN obligations o ON o.tenant_id = r.tenant_id AND o.receipt_id = r.receipt_id';
const RECEIPT_COLUMN_LIST = RECEIPT_COLUMNS.split(', ');
const OBLIGATION_STATE_COLUMNS = ['type', 'closed_by', 'closed_at'];
export const PARENT_COLUMNS_PREFIXED = `${prefixedColumns('r', RECEIPT_COLUMN_LIST, 'p')}, ${prefixedColumns('o', OBLIGATION_STATE_COLUMNS, 'p_ob')}`;
const PARENT_ROW_COLUMNS = [...RECEIPT_COLUMN_LIST, ...OBLIGATION_STATE_COLUMNS.map((c) => `ob_${c}`)];

/** The receipt a row with PARENT_COLUMNS_PREFIXED holds, if the join found one. */
export function prefixedParent(row: Record<string, unknown>): ByIdRow | undefined {
  return unprefixed<ByIdRow>(row, 'p', PARENT_ROW_COLUMNS);
}

const k = (tenantId: string, id: string) => `${tenantId}\n${id}`;

/** Receipts written or read in this transaction (see pgLedgerTx); clones go out, so callers cannot change them. */
const knownByHash_ = (b: PgBatch) => b.cache<Receipt>('receipts.hash');
const knownByKey_ = (b: PgBatch) => b.cache<Receipt>('receipts.key');
const knownById_ = (b: PgBatch) => b.cache<Receipt>('receipts.id');
/**
 * Hashes and idempotency keys a batch prefetch looked up and found in no receipt of the tenant. Under the tenant
 * lock nothing else can write them; once this transaction writes one, knownByHash/knownByKey (asked first) have it.
 */
const absentHashes_ = (b: PgBatch) => b.cache<true>('receipts.absentHash');
const absentKeys_ = (b: PgBatch) => b.cache<true>('receipts.absentKey');
/** Obligation states known to this transaction; null: the receipt exists and is no obligation. */
const knownStates = (b: PgBatch) => b.cache<ObligationState | null>('obligations');

function remember_(b: PgBatch, r: Receipt): void {
  knownById_(b).set(k(r.tenant_id, r.receipt_id), r);
  knownByHash_(b).set(k(r.tenant_id, r.hash), r);
  if (r.idempotency_key !== undefined) knownByKey_(b).set(k(r.tenant_id, r.idempotency_key), r);
}

/** A receipt's obligation state as a join found it, unless this transaction already knows better. */
function noteState_(b: PgBatch, tenantId: string, row: ByIdRow): void {
  const known = knownStates(b);
  if (known.has(k(tenantId, row.receipt_id))) return;
  known.set(k(tenantId, row.receipt_id), row.ob_type === null ? null
    : rowToObligationState({ receipt_id: row.receipt_id, type: row.ob_type, closed_by: row.ob_closed_by, closed_at: row.ob_closed_at }));
}

/**
 * Receipts (with their obligation states) that a read of the tenant brought along, so that appends naming them as
 * parents find them known and need no lookup of their own. The tenant must be locked (they are cached as rows of
 * the ledger read under the lock are).
 */
export function rememberParents(b: PgBatch, tenantId: string, rows: readonly ByIdRow[]): void {
  for (const row of rows) {
    if (!knownById_(b).has(k(tenantId, row.receipt_id))) remember_(b, rowToReceipt(row));
    noteState_(b, tenantId, row);
  }
}

/** What a prefetch found absent: answered once, by the lookup that follows it (see prefetchForAppend). */
interface Absent {
  tenantId: string;
  hash?: string;
  key?: string;
}

/**
 * Receipt operations of one batch (see PgBatch). Every read of a tenant's ledger state takes the tenant first: what
 * the append rules then read (duplicates, idempotency keys, parents, open obligations) cannot change under them
 * until COMMIT, on this server or any other. Receipts and obligations are buffered. Receipts are immutable, so every
 * receipt the transaction wrote or read is remembered (by id, hash and idempotency key) until COMMIT or until a
 * savepoint is rolled back (PgBatch drops its caches then); obligation states are cached likewise (the tenant lock
 * makes this batch their only writer). prefetchForAppend asks the database everything else an append will ask, in
 * one round trip.
 */
export function pgLedgerTx(b: PgBatch): LedgerTx {
  const run = <R extends QueryResultRow>(name: keyof typeof SQL, values: unknown[]) => b.readBuffered<R>(`q_${name}`, SQL[name], values);
  const knownByHash = () => knownByHash_(b);
  const knownByKey = () => knownByKey_(b);
  const knownById = () => knownById_(b);
  const remember = (r: Receipt) => remember_(b, r);
  let absent: Absent | undefined;
  const states = () => knownStates(b);
  const noteState = (tenantId: string, row: ByIdRow) => noteState_(b, tenantId, row);
  /**
   * forAppend: remembers every receipt found (and each parent's obligation state) and answers which of `hashes` and
   * `keys` no receipt has, or undefined when nothing was looked up (nothing to look up, or a value PostgreSQL text
   * cannot hold, which matches nothing: such lookups are left to the methods below).
   */
  const lookUp = async (tenantId: string, hashes: string[], keys: string[], ids: string[]) => {
    if (hashes.length === 0 && keys.length === 0 && ids.length === 0) return undefined;
    if ([tenantId, ...hashes, ...keys, ...ids].some((v) => v.includes('\u0000'))) return undefined;
    const rows = await run<ByIdRow & { via: 'h' | 'k' | 'i' }>('forAppend', [tenantId, hashes, keys, ids]);
    const foundHashes = new Set<string>();
    const foundKeys = new Set<string>();
    for (const row of rows) {
      const r = rowToReceipt(row);
      remember(r);
      if (row.via === 'h') foundHashes.add(r.hash);
      else if (row.via === 'k') foundKeys.add(r.idempotency_key!);
      else noteState(tenantId, row);
    }
    return { hashes: hashes.filter((h) => !foundHashes.has(h)), keys: keys.filter((x) => !foundKeys.has(x)) };
  };

  const obligationStates = async (tenantId: string, ids: readonly string[]): Promise<ObligationState[]> => {
    if (ids.length === 0) return [];
    await b.lockTenant(tenantId);
    const known = states();
    const unknown = ids.filter((id) => !known.has(k(tenantId, id)));
    if (unknown.length) {
      const rows = await run<ObligationRow>('obligations', [tenantId, unknown]);
      for (const row of rows) known.set(k(tenantId, row.receipt_id), rowToObligationState(row));
      // Ids that are no obligation are not cached: a receipt may still be written with one of them later.
    }
    return ids.flatMap((id) => {
      const st = known.get(k(tenantId, id));
      return st ? [{ ...st }] : [];
    });
  };

  const tx: LedgerTx = {
    chainHead: (tenantId) => b.chainHead(tenantId),
    async setChainHead(tenantId, head) {
      await b.chainHead(tenantId);
      b.setHead(tenantId, head);
    },
    async prefetchForAppends(tenantId, lookups) {
      await b.lockTenant(tenantId);
      const unique = (xs: string[]) => [...new Set(xs)];
      const hashes = unique(lookups.map((l) => l.hash).filter((h) => !knownByHash().has(k(tenantId, h)) && !absentHashes_(b).has(k(tenantId, h))));
      const keys = unique(lookups.flatMap((l) => (l.idempotency_key === undefined || knownByKey().has(k(tenantId, l.idempotency_key)) || absentKeys_(b).has(k(tenantId, l.idempotency_key)) ? [] : [l.idempotency_key])));
      const ids = unique(lookups.flatMap((l) => l.parents).filter((id) => !knownById().has(k(tenantId, id)) || !states().has(k(tenantId, id))));
      const missing = await lookUp(tenantId, hashes, keys, ids);
      for (const h of missing?.hashes ?? []) absentHashes_(b).set(k(tenantId, h), true);
      for (const key of missing?.keys ?? []) absentKeys_(b).set(k(tenantId, key), true);
    },
    async prefetchForAppend(tenantId, lookups) {
      absent = undefined;
      await b.lockTenant(tenantId);
      // Parents this transaction already knows (a read brought them along, or it wrote them) mean a write
      // appending under what it just read: the receipt is new but for a resend. So does a fresh receipt (it names
      // an id generated for this write). Its hash and idempotency key are then not looked up; the unique indexes
      // refuse a receipt that was not new, and PgBatch runs the write again, checked (see PgBatch.assumeNew).
      const newButForResend = (lookups.parents.length > 0 || lookups.fresh === true)
        && lookups.parents.every((id) => knownById().has(k(tenantId, id)) && states().has(k(tenantId, id)));
      if (newButForResend && !knownByHash().has(k(tenantId, lookups.hash))
        && (lookups.idempotency_key === undefined || !knownByKey().has(k(tenantId, lookups.idempotency_key))) && b.assumeNew()) {
        absent = { tenantId, hash: lookups.hash, ...(lookups.idempotency_key !== undefined && { key: lookups.idempotency_key }) };
        return 'assumed-new';
      }
      const hash = knownByHash().has(k(tenantId, lookups.hash)) || absentHashes_(b).has(k(tenantId, lookups.hash)) ? undefined : lookups.hash;
      const key = lookups.idempotency_key === undefined || knownByKey().has(k(tenantId, lookups.idempotency_key))
        || absentKeys_(b).has(k(tenantId, lookups.idempotency_key)) ? undefined : lookups.idempotency_key;
      const ids = lookups.parents.filter((id) => !knownById().has(k(tenantId, id)) || !states().has(k(tenantId, id)));
      const missing = await lookUp(tenantId, hash === undefined ? [] : [hash], key === undefined ? [] : [key], ids);
      if (missing) absent = { tenantId, ...(missing.hashes.length > 0 && { hash: missing.hashes[0] }), ...(missing.keys.length > 0 && { key: missing.keys[0] }) };
    },
    async receiptByHash(tenantId, hash) {
      await b.lockTenant(tenantId);
      const known = knownByHash().get(k(tenantId, hash));
      if (known) return structuredClone(known);
      if (absentHashes_(b).has(k(tenantId, hash))) return undefined;
      if (absent?.tenantId === tenantId && absent.hash === hash) {
        delete absent.hash;
        return undefined;
      }
      const row = (await run<PgReceiptRow>('byHash', [tenantId, hash]))[0];
      if (!row) return undefined;
      const r = rowToReceipt(row);
      remember(r);
      return structuredClone(r);
    },
    async receiptByIdempotencyKey(tenantId, key) {
      await b.lockTenant(tenantId);
      const known = knownByKey().get(k(tenantId, key));
      if (known) return structuredClone(known);
      if (absentKeys_(b).has(k(tenantId, key))) return undefined;
      if (absent?.tenantId === tenantId && absent.key === key) {
        delete absent.key;
        return undefined;
      }
      const row = (await run<PgReceiptRow>('byKey', [tenantId, key]))[0];
      if (!row) return undefined;
      const r = rowToReceipt(row);
      remember(r);
      return structuredClone(r);
    },
    async receiptTypes(tenantId, ids) {
      // The prefetch has usually cached these already; a full row costs nothing more here.
      return (await tx.receiptsByIds(tenantId, ids)).map((r) => ({ receipt_id: r.receipt_id, type: r.type }));
    },
    async receiptsByIds(tenantId, ids) {
      if (ids.length === 0) return [];
      await b.lockTenant(tenantId);
      const found = new Map<string, Receipt>();
      const stored: string[] = [];
      for (const id of ids) {
        const p = knownById().get(k(tenantId, id));
        if (p) found.set(id, p);
        else stored.push(id);
      }
      if (stored.length) {
        for (const row of await run<ByIdRow>('byIds', [tenantId, stored])) {
          const r = rowToReceipt(row);
          remember(r);
          found.set(row.receipt_id, r);
          noteState(tenantId, row);
        }
      }
      return ids.flatMap((id) => {
        const r = found.get(id);
        return r ? [structuredClone(r)] : [];
      });
    },
    obligationStates,
    async insertReceipt(r, texts) {
      await b.lockTenant(r.tenant_id);
      b.bufferRow(INSERT_RECEIPT, k(r.tenant_id, r.receipt_id), receiptToRow(r, texts));
      remember(structuredClone(r));
      // No obligation unless openObligation says so next: spares a lookup of its state when it becomes a parent.
      if (!states().has(k(r.tenant_id, r.receipt_id))) states().set(k(r.tenant_id, r.receipt_id), null);
      absent = undefined;
      b.rowsInserted++;
    },
    async openObligation(r) {
      await b.lockTenant(r.tenant_id);
      b.bufferRow(INSERT_OBLIGATION, k(r.tenant_id, r.receipt_id), [r.tenant_id, r.receipt_id, r.seq, r.type, r.to.kind, r.to.id, null, null]);
      states().set(k(r.tenant_id, r.receipt_id), { receipt_id: r.receipt_id, type: r.type, open: true });
    },
    async closeObligation(tenantId, obligationId, closedBy, closedAt) {
      const [st] = await obligationStates(tenantId, [obligationId]);
      // The append rules checked the obligation was open in this same transaction; anything else is a bug.
      if (!st?.open) throw new Error(`obligation ${obligationId} was not open`);
      const row = b.pendingRow(INSERT_OBLIGATION, k(tenantId, obligationId));
      if (row) {
        row[OB_CLOSED_BY] = closedBy;
        row[OB_CLOSED_AT] = closedAt;
      } else {
        // The parents one receipt closes (appendInTx closes them one after the other): one UPDATE for all of them.
        b.bufferMerged(
          `close obligations\n${tenantId}\n${closedBy}\n${closedAt}`,
          obligationId,
          (ids) => `UPDATE obligations SET closed_by = ${literal(closedBy)}, closed_at = ${literal(closedAt)}
           WHERE tenant_id = ${literal(tenantId)} AND receipt_id = ANY(ARRAY[${ids.map(literal).join(', ')}]::text[]) AND closed_by IS NULL`,
          `closing obligations closed by ${closedBy}`,
        );
      }
      states().set(k(tenantId, obligationId), { receipt_id: obligationId, type: st.type, open: false, closed_by: closedBy, closed_at: closedAt });
    },
    // Telemetry only, so it takes no tenant: two servers stamping the same receipts agree on the first value.
    async markDelivered(tenantId, ids, at) {
      const out = new Map<string, string>();
      if (ids.length === 0) return out;
      // Remembered copies would not show the new value.
      for (const known of [knownById(), knownByHash(), knownByKey()]) known.clear();
      await b.writeNow('q_delivered', SQL.delivered, [tenantId, ids.filter((id) => !id.includes('\u0000')), at]);
      // A separate statement, so it sees a value another server committed while this UPDATE waited for the row.
      for (const row of await b.read<{ receipt_id: string; delivered_at: string | null }>('q_deliveredAt', SQL.deliveredAt, [tenantId, ids])) {
        if (row.delivered_at !== null) out.set(row.receipt_id, row.delivered_at);
      }
      return out;
    },
  };
  return tx;
}

/** Reads through the pool: each sees committed data only. */
export class PgLedgerReads {
  /** JSON texts of delivered receipts (see DeliveredTexts). */
  private readonly delivered = new DeliveredTexts();
  constructor(private readonly pool: Pool) {}

  private async rows<R extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<R[]> {
    const safe = readableParams(values);
    return safe ? (await this.pool.query<R>({ name, text, values: safe })).rows : [];
  }

  async receipt(tenantId: string, id: string): Promise<Receipt | undefined> {
    const row = (await this.rows<PgReceiptRow>('r_receipt', `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE receipt_id = $1 AND tenant_id = $2`, [id, tenantId]))[0];
    return row && rowToReceipt(row);
  }

  async obligationState(tenantId: string, id: string): Promise<ObligationState | undefined> {
    const row = (await this.rows<ObligationRow>(
      'r_obligation', 'SELECT receipt_id, type, closed_by, closed_at FROM obligations WHERE tenant_id = $1 AND receipt_id = $2', [tenantId, id],
    ))[0];
    return row && rowToObligationState(row);
  }

  async openObligationRows(tenantId: string, afterSeq: number, limit: number): Promise<{ seq: number; receipt_id: string; type: string }[]> {
    return this.rows('r_open_rows', 'SELECT seq, receipt_id, type FROM obligations WHERE tenant_id = $1 AND closed_by IS NULL AND seq > $2 ORDER BY seq LIMIT $3', [tenantId, afterSeq, limit]);
  }

  async openObligations(tenantId: string, f: OpenObligationFilter): Promise<Receipt[]> {
    return (await this.openObligationsText(tenantId, f)).flatMap((r) => (r.json === null ? [] : [jsonToReceipt(r.json)]));
  }

  /**
   * A page of open obligations: their seqs from the obligations index alone, then, in a second statement, the JSON
   * texts of those not in DeliveredTexts (built by PostgreSQL, see receiptJson). A client polling its page again
   * costs the first statement only. The statements are not one snapshot: a receipt's text never changes but for
   * delivered_at being set once, and an obligation closed meanwhile is served as open, as a request a moment
   * earlier would have served it.
   */
  async openObligationsText(tenantId: string, f: OpenObligationFilter): Promise<ReceiptText[]> {
    const refs = f.principal
      ? await this.rows<{ seq: number; receipt_id: string }>(
        'r_open_to',
        `SELECT seq, receipt_id FROM obligations
         WHERE tenant_id = $1 AND to_kind = $2 AND to_id = $3 AND closed_by IS NULL AND seq > $4 ORDER BY seq LIMIT $5`,
        [tenantId, f.principal.kind, f.principal.id, f.after_seq, f.limit],
      )
      : await this.rows<{ seq: number; receipt_id: string }>(
        'r_open_all',
        'SELECT seq, receipt_id FROM obligations WHERE tenant_id = $1 AND closed_by IS NULL AND seq > $2 ORDER BY seq LIMIT $3',
        [tenantId, f.after_seq, f.limit],
      );
    const { kept, missing } = this.delivered.lookup(tenantId, refs);
    const read = missing.length === 0 ? [] : await this.rows<ReadText>(
      'r_texts', `SELECT seq, delivered_at IS NOT NULL AS delivered, ${RECEIPT_JSON} AS json FROM receipts WHERE tenant_id = $1 AND seq = ANY($2::bigint[])`,
      [tenantId, missing],
    );
    return this.delivered.assemble(tenantId, refs, kept, read);
  }

  async listReceipts(tenantId: string, f: ReceiptFilter): Promise<Receipt[]> {
    const where = ['tenant_id = $1', 'seq > $2'];
    const args: unknown[] = [tenantId, f.after_seq];
    let shape = 'r_list';
    const add = (sql: (n: number) => string, ...values: unknown[]) => {
      where.push(sql(args.length + 1));
      args.push(...values);
    };
    if (f.type !== undefined) (add((n) => `type = $${n}`, f.type), (shape += '_type'));
    if (f.task_id !== undefined) (add((n) => `task_id = $${n}`, f.task_id), (shape += '_task'));
    if (f.since !== undefined) (add((n) => `created_at >= $${n}`, f.since), (shape += '_since'));
    if (f.principal !== undefined) {
      add((n) => `((from_kind = $${n} AND from_id = $${n + 1}) OR (to_kind = $${n} AND to_id = $${n + 1}))`, f.principal.kind, f.principal.id);
      shape += '_principal';
    }
    args.push(f.limit);
    const sql = `SELECT ${RECEIPT_JSON} AS json FROM receipts WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${args.length}`;
    return (await this.rows<{ json: string }>(shape, sql, args)).map((r) => jsonToReceipt(r.json));
  }

  async chainSegment(tenantId: string, fromSeq: number, limit: number): Promise<ChainRow[]> {
    const rows = await this.rows<PgReceiptRow>(
      'r_segment', `SELECT ${RECEIPT_COLUMNS} FROM receipts WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`, [tenantId, fromSeq, limit],
    );
    return rows.map(rowToChainRow);
  }

  async chainHead(tenantId: string): Promise<ChainHead> {
    const row = (await this.rows<{ seq: number; chain_hash: string }>('r_head', 'SELECT seq, chain_hash FROM chain_heads WHERE tenant_id = $1', [tenantId]))[0];
    return row ? { seq: row.seq, chain_hash: row.chain_hash } : GENESIS;
  }

  async countReceipts(tenantId?: string): Promise<number> {
    const rows = tenantId === undefined
      ? await this.rows<{ n: number }>('r_count_all', 'SELECT count(*) AS n FROM receipts', [])
      : await this.rows<{ n: number }>('r_count', 'SELECT count(*) AS n FROM receipts WHERE tenant_id = $1', [tenantId]);
    return rows[0]!.n;
  }
}
