import pg from 'pg';
import type { Receipt } from '../../ledger/types.js';
import { canonicalize } from '../../ledger/canonical.js';
import type { ChainRow, ObligationState } from '../types.js';

/** A receipts row as the store's pool returns it (bigint as a number: see PG_TYPES). */
export interface PgReceiptRow {
  tenant_id: string;
  seq: number;
  receipt_id: string;
  type: string;
  from_kind: string;
  from_id: string;
  from_instance_id: string | null;
  to_kind: string;
  to_id: string;
  to_instance_id: string | null;
  task_id: string | null;
  lease_id: string | null;
  stamp_id: string | null;
  session_id: string | null;
  parents: string;
  body: string;
  artifacts: string | null;
  delivery_proof: string | null;
  idempotency_key: string | null;
  created_at: string;
  hash: string;
  prev_hash: string;
  chain_hash: string;
  discharges: boolean;
  delivered_at: string | null;
}

export interface PgObligationRow {
  receipt_id: string;
  type: string;
  closed_by: string | null;
  closed_at: string | null;
}

const COLUMNS = [
  'tenant_id', 'seq', 'receipt_id', 'type', 'from_kind', 'from_id', 'from_instance_id', 'to_kind', 'to_id', 'to_instance_id',
  'task_id', 'lease_id', 'stamp_id', 'session_id', 'parents', 'body', 'artifacts', 'delivery_proof', 'idempotency_key',
  'created_at', 'hash', 'prev_hash', 'chain_hash', 'discharges', 'delivered_at',
] as const;

export const RECEIPT_COLUMNS = COLUMNS.join(', ');
/** The same columns qualified with a table alias, for joins. */
export function receiptColumnsOf(alias: string): string {
  return COLUMNS.map((c) => `${alias}.${c}`).join(', ');
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

export function receiptToRow(r: Receipt): unknown[] {
  return [
    r.tenant_id, r.seq, r.receipt_id, r.type,
    r.from.kind, r.from.id, r.from.instance_id ?? null,
    r.to.kind, r.to.id, r.to.instance_id ?? null,
    r.task_id ?? null, r.lease_id ?? null, r.stamp_id ?? null, r.session_id ?? null,
    JSON.stringify(r.parents), canonicalize(r.body),
    r.artifacts === undefined ? null : canonicalize(r.artifacts),
    r.delivery_proof === undefined ? null : canonicalize(r.delivery_proof),
    r.idempotency_key ?? null, r.created_at, r.hash, r.prev_hash, r.chain_hash, r.discharges,
    r.delivered_at ?? null,
  ];
}

export function rowToReceipt(row: PgReceiptRow): Receipt {
  const r: Receipt = {
    receipt_id: row.receipt_id,
    tenant_id: row.tenant_id,
    seq: row.seq,
    type: row.type,
    from: principal(row.from_kind, row.from_id, row.from_instance_id),
    to: principal(row.to_kind, row.to_id, row.to_instance_id),
    parents: JSON.parse(row.parents) as string[],
    body: JSON.parse(row.body) as Record<string, unknown>,
    created_at: row.created_at,
    hash: row.hash,
    prev_hash: row.prev_hash,
    chain_hash: row.chain_hash,
    discharges: row.discharges,
  };
  if (row.task_id !== null) r.task_id = row.task_id;
  if (row.lease_id !== null) r.lease_id = row.lease_id;
  if (row.stamp_id !== null) r.stamp_id = row.stamp_id;
  if (row.session_id !== null) r.session_id = row.session_id;
  if (row.artifacts !== null) r.artifacts = JSON.parse(row.artifacts) as Receipt['artifacts'] & object;
  if (row.delivery_proof !== null) r.delivery_proof = JSON.parse(row.delivery_proof) as Receipt['delivery_proof'] & object;
  if (row.idempotency_key !== null) r.idempotency_key = row.idempotency_key;
  if (row.delivered_at !== null) r.delivered_at = row.delivered_at;
  return r;
}

function principal(kind: string, id: string, instance: string | null): Receipt['from'] {
  return instance === null ? { kind: kind as Receipt['from']['kind'], id } : { kind: kind as Receipt['from']['kind'], id, instance_id: instance };
}

/** Reads a row back for verification: every JSON column must parse and be exactly in the canonical form written. */
export function rowToChainRow(row: PgReceiptRow): ChainRow {
  const seq = row.seq;
  try {
    const r = rowToReceipt(row);
    if (row.body !== canonicalize(r.body)) return { seq, defect: 'stored body is not the canonical JSON the ledger wrote' };
    if (row.parents !== JSON.stringify(r.parents)) return { seq, defect: 'stored parents are not in the form the ledger wrote' };
    if (row.artifacts !== null && row.artifacts !== canonicalize(r.artifacts)) return { seq, defect: 'stored artifacts are not canonical JSON' };
    if (row.delivery_proof !== null && row.delivery_proof !== canonicalize(r.delivery_proof)) return { seq, defect: 'stored delivery_proof is not canonical JSON' };
    return { seq, receipt: r };
  } catch (e) {
    return { seq, defect: `stored fields cannot be read: ${(e as Error).message}` };
  }
}

export function rowToObligationState(row: PgObligationRow): ObligationState {
  const st: ObligationState = { receipt_id: row.receipt_id, type: row.type, open: row.closed_by === null };
  if (row.closed_by !== null) st.closed_by = row.closed_by;
  if (row.closed_at !== null) st.closed_at = row.closed_at;
  return st;
}

/** Schema names are restricted to plain identifiers so they can go into search_path and DDL unambiguously. */
export function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`quittance: invalid PostgreSQL schema name ${JSON.stringify(name)}`);
  return `"${name}"`;
}
