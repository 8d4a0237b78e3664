import type { ReceiptTexts } from '../../ledger/hashing.js';
import type { Receipt } from '../../ledger/types.js';
import type { ChainRow } from '../types.js';
import { RECEIPT_COLUMNS_TO_HASH, receiptChainRow, receiptFromColumns, receiptJsonSql, receiptValuesToHash, type ReceiptColumns } from '../codecs/receipts.js';

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

/** A whole receipt as one JSON text, built by SQLite from a receipts row (see receiptJsonSql). */
export function receiptJson(): string {
  return receiptJsonSql({
    string: (col) => `json_quote(${col})`,
    integer: (col) => col,
    flag: (col) => `CASE ${col} WHEN 1 THEN 'true' ELSE 'false' END`,
  });
}
