import type { ReceiptTexts } from '../../ledger/hashing.js';
import pg from 'pg';
import type { Receipt } from '../../ledger/types.js';
import type { ChainRow } from '../types.js';
import { RECEIPT_COLUMNS_TO_HASH, receiptChainRow, receiptFromColumns, receiptValuesToHash, type ReceiptColumns } from '../codecs/receipts.js';

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

/**
 * A whole receipt as one JSON text, built by PostgreSQL from a receipts row (`p`: the table's alias and a dot, or
 * ''), as SQLite's receiptJson builds it: the same keys in the same order, the JSON columns spliced in as stored,
 * absent optional fields left out. Pages of receipts are read this way: decoding 26 text columns per row and
 * encoding the receipt again cost the server ~1.3 ms of CPU per page of 100 open obligations.
 */
export function receiptJson(p = ''): string {
  const str = (key: string, col: string, first = false) => `'${first ? '{' : ','}"${key}":' || to_json(${p}${col})::text`;
  const optional = (key: string, col: string, raw = false) =>
    `CASE WHEN ${p}${col} IS NULL THEN '' ELSE ',"${key}":' || ${raw ? p + col : `to_json(${p}${col})::text`} END`;
  const principal = (side: 'from' | 'to') =>
    `',"${side}":' || ${str('kind', side + '_kind', true)} || ${str('id', side + '_id')} || ${optional('instance_id', side + '_instance_id')} || '}'`;
  return [
    str('receipt_id', 'receipt_id', true), str('tenant_id', 'tenant_id'), `',"seq":' || ${p}seq::text`, str('type', 'type'),
    principal('from'), principal('to'), `',"parents":' || ${p}parents`, `',"body":' || ${p}body`,
    str('created_at', 'created_at'), str('hash', 'hash'), str('prev_hash', 'prev_hash'), str('chain_hash', 'chain_hash'),
    `',"discharges":' || CASE WHEN ${p}discharges THEN 'true' ELSE 'false' END`,
    optional('task_id', 'task_id'), optional('lease_id', 'lease_id'), optional('stamp_id', 'stamp_id'), optional('session_id', 'session_id'),
    optional('artifacts', 'artifacts', true), optional('delivery_proof', 'delivery_proof', true),
    optional('idempotency_key', 'idempotency_key'), optional('delivered_at', 'delivered_at'), `'}'`,
  ].join(' || ');
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
