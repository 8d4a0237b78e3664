import type { ReceiptTexts } from '../../ledger/hashing.js';
import pg from 'pg';
import type { Receipt } from '../../ledger/types.js';
import type { ChainRow } from '../types.js';
import { RECEIPT_COLUMNS_TO_HASH, receiptChainRow, receiptFromColumns, receiptJsonSql, receiptValuesToHash, type ReceiptColumns } from '../codecs/receipts.js';

/** A receipts row as the store's pool returns it (bigint as a number: see PG_TYPES; `discharges` a PostgreSQL boolean). */
export type PgReceiptRow = ReceiptColumns<boolean>;

const COLUMNS = [...RECEIPT_COLUMNS_TO_HASH, 'prev_hash', 'chain_hash', 'discharges', 'delivered_at'] as const;

export const RECEIPT_COLUMNS = COLUMNS.join(', ');
/** The same columns qualified with a table alias, for joins. */
export function receiptColumnsOf(alias: string): string {
  return COLUMNS.map((c) => `${alias}.${c}`).join(', ');
}

/** `alias.column AS as_column` for each column: a joined table's columns under a prefix of their own. */
export function prefixedColumns(alias: string, columns: readonly string[], as = alias): string {
  return columns.map((c) => `${alias}.${c} AS ${as}_${c}`).join(', ');
}

/**
 * The columns `<prefix>_<column>` of a row (see prefixedColumns), as a row of their own; undefined when the join
 * found none (its second column, which the column lists used here always make an id or a seq, is null).
 */
export function unprefixed<R>(row: Record<string, unknown>, prefix: string, columns: readonly string[]): R | undefined {
  if (row[`${prefix}_${columns[1]}`] == null) return undefined;
  return Object.fromEntries(columns.map((c) => [c, row[`${prefix}_${c}`]])) as R;
}

/**
 * Type parsers for the store's connections only (never the process-wide defaults): bigint as a JavaScript number.
 * Every bigint Quittance stores is a per-tenant seq or a time in ms, far below 2^53, so the number is exact.
 */
export const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return parseBigint;
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

function parseBigint(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`quittance: bigint ${text} does not fit a JavaScript number`);
  return n;
}

/** A whole receipt as one JSON text, built by PostgreSQL from a receipts row (see receiptJsonSql). */
export function receiptJson(): string {
  return receiptJsonSql({
    string: (col) => `to_json(${col})::text`,
    integer: (col) => `${col}::text`,
    flag: (col) => `CASE WHEN ${col} THEN 'true' ELSE 'false' END`,
  });
}

/** Every column in RECEIPT_COLUMNS order. */
export function receiptToRow(r: Receipt, texts?: ReceiptTexts): unknown[] {
  return [...receiptValuesToHash(r, texts), r.prev_hash, r.chain_hash, r.discharges, r.delivered_at ?? null];
}

export function rowToReceipt(row: PgReceiptRow): Receipt {
  return receiptFromColumns(row, row.discharges);
}

/** Reads a row back for verification (see receiptChainRow): PostgreSQL stores no columns of its own to check. */
export function rowToChainRow(row: PgReceiptRow): ChainRow {
  return receiptChainRow(row, rowToReceipt);
}

/** Schema names are restricted to plain identifiers so they can go into search_path and DDL unambiguously. */
export function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`quittance: invalid PostgreSQL schema name ${JSON.stringify(name)}`);
  return `"${name}"`;
}
