import type { ReceiptTexts } from '../../ledger/hashing.js';
import type { Receipt } from '../../ledger/types.js';
import type { ChainRow } from '../types.js';
import { RECEIPT_COLUMNS_TO_HASH, receiptChainRow, receiptFromColumns, receiptValuesToHash, type ReceiptColumns } from '../codecs/receipts.js';

/**
 * A receipts row as SQLite returns it: the shared columns, `discharges` as 0 or 1 (SQLite has no boolean), and
 * hash_key, the key of the compact dedupe index.
 */
export interface ReceiptRow extends ReceiptColumns<number> {
  hash_key: number;
}

export const RECEIPT_COLUMNS = [...RECEIPT_COLUMNS_TO_HASH, 'hash_key', 'prev_hash', 'chain_hash', 'discharges', 'delivered_at'].join(', ');

/** Every column in RECEIPT_COLUMNS order. */
export function receiptToRow(r: Receipt, texts?: ReceiptTexts): unknown[] {
  return [...receiptValuesToHash(r, texts), hashKey(r.hash), r.prev_hash, r.chain_hash, r.discharges ? 1 : 0, r.delivered_at ?? null];
}

/** The first 13 hex digits (52 bits: a safe integer) of a content hash, for the compact dedupe index. */
export function hashKey(hash: string): number {
  return parseInt(hash.slice(0, 13), 16);
}

export function rowToReceipt(row: ReceiptRow): Receipt {
  return receiptFromColumns(row, row.discharges === 1);
}

/** Reads a row back for verification (see receiptChainRow), with SQLite's own columns: hash_key and the 0/1 flag. */
export function rowToChainRow(row: ReceiptRow): ChainRow {
  return receiptChainRow(row, rowToReceipt, sqliteColumnDefect);
}

function sqliteColumnDefect(row: ReceiptRow): string | undefined {
  if (row.hash_key !== hashKey(row.hash)) return 'stored hash_key does not match the hash';
  if (row.discharges !== 0 && row.discharges !== 1) return 'stored discharges flag is not 0 or 1';
  return undefined;
}

/**
 * A whole receipt as one JSON text, built by SQLite from a receipts row (`p`: the table's alias and a dot, or '').
 * Reads that return many receipts use it: handing over one string per row for JSON.parse costs a fraction of
 * materialising 26 columns as a JS object and parsing the JSON columns one by one (measured on a page of 100 open
 * obligations: ~0.6 ms instead of ~1.9 ms). The JSON columns hold canonical JSON and are spliced in as stored;
 * absent optional fields are left out, so the result is exactly what rowToReceipt gives (a test checks that).
 */
export function receiptJson(p = ''): string {
  const str = (key: string, col: string, first = false) => `'${first ? '{' : ','}"${key}":' || json_quote(${p}${col})`;
  const optional = (key: string, col: string, raw = false) =>
    `CASE WHEN ${p}${col} IS NULL THEN '' ELSE ',"${key}":' || ${raw ? p + col : `json_quote(${p}${col})`} END`;
  const principal = (side: 'from' | 'to') =>
    `',"${side}":' || ${str('kind', side + '_kind', true)} || ${str('id', side + '_id')} || ${optional('instance_id', side + '_instance_id')} || '}'`;
  return [
    str('receipt_id', 'receipt_id', true), str('tenant_id', 'tenant_id'), `',"seq":' || ${p}seq`, str('type', 'type'),
    principal('from'), principal('to'), `',"parents":' || ${p}parents`, `',"body":' || ${p}body`,
    str('created_at', 'created_at'), str('hash', 'hash'), str('prev_hash', 'prev_hash'), str('chain_hash', 'chain_hash'),
    `',"discharges":' || CASE ${p}discharges WHEN 1 THEN 'true' ELSE 'false' END`,
    optional('task_id', 'task_id'), optional('lease_id', 'lease_id'), optional('stamp_id', 'stamp_id'), optional('session_id', 'session_id'),
    optional('artifacts', 'artifacts', true), optional('delivery_proof', 'delivery_proof', true),
    optional('idempotency_key', 'idempotency_key'), optional('delivered_at', 'delivered_at'), `'}'`,
  ].join(' || ');
}
