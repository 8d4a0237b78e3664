/** Sessions, their event DAGs and the orphan-event queue (DESIGN §7): rows as stored and inputs as sent. */
import type { OrphanEventReceipt } from '../contracts/types.js';
import type { Principal } from '../ledger/types.js';

export const EVENT_CLASSES = [
  'agent_lifecycle', 'runtime_lifecycle', 'browser_automation', 'terminal_workspace', 'plugin', 'transport', 'unknown',
] as const;
export type EventClass = (typeof EVENT_CLASSES)[number];

export const ORPHAN_STATES = ['queued', 'recovered', 'quarantined', 'discarded_duplicate'] as const;
export type OrphanState = (typeof ORPHAN_STATES)[number];

/** The correlation keys a session carries; an event carrying the same value points at that session. */
export const SESSION_KEYS = ['conversation_id', 'workspace_ref', 'task_ref'] as const;
export type SessionKey = (typeof SESSION_KEYS)[number];

/** Keys by which queued orphans are looked up (each one indexed). */
export type OrphanKey = SessionKey | 'session_id' | 'parent_id';

/** Why a session was picked for an event: the keys on which they agree. */
export type MatchKey = SessionKey | 'session_id' | 'parent_id';

export interface SessionRow {
  tenant_id: string;
  session_id: string;
  owner: Principal;
  conversation_id: string | null;
  workspace_ref: string | null;
  task_ref: string | null;
  parent_session_id: string | null;
  state: 'open' | 'closed';
  opened_receipt_id: string;
  closed_receipt_id: string | null;
  last_update_receipt_id: string | null;
  opened_at: string;
  updated_at: string;
  closed_at: string | null;
}

/** One event_id as first received, and its DAG node once attached. */
export interface SessionEventRow {
  tenant_id: string;
  event_id: string;
  event_class: EventClass;
  session_id: string | null;
  parent_id: string | null;
  conversation_id: string | null;
  workspace_ref: string | null;
  task_ref: string | null;
  payload_digest: string | null;
  fingerprint: string;
  raw_digest: string;
  observed_at: string;
  deliveries: number;
  orphan_id: string | null;
  node_session_id: string | null;
  node_receipt_id: string | null;
  node_seq: number | null;
  attached_at: string | null;
}

export interface OrphanRow {
  tenant_id: string;
  orphan_id: string;
  seq: number;
  queued_receipt_id: string;
  event_id: string;
  event_class: EventClass;
  session_id: string | null;
  parent_id: string | null;
  conversation_id: string | null;
  workspace_ref: string | null;
  task_ref: string | null;
  payload_digest: string | null;
  raw_digest: string;
  state: OrphanState;
  /** Session ids, sorted: several keep the orphan queued. */
  candidates: string[];
  observed_at: string;
  /** ms since the epoch. */
  expires_at: number;
  resolved_at: string | null;
  resolution_receipt_id: string | null;
  node_receipt_id: string | null;
  recovered_session_id: string | null;
  duplicate_of: string | null;
  /** The latest OrphanEventReceipt written for this orphan. */
  document: OrphanEventReceipt;
}

export interface OrphanFilter {
  state?: OrphanState;
  after_seq: number;
  limit: number;
}

/** POST /v1/sessions */
export interface SessionOpenInput {
  session_id: string;
  owner?: Principal;
  owners?: Principal[];
  conversation_id?: string;
  workspace_ref?: string;
  task_ref?: string;
  parent_session_id?: string;
}

/** PATCH /v1/sessions/{id}: correlation keys to add. */
export interface SessionUpdateInput {
  conversation_id?: string;
  workspace_ref?: string;
  task_ref?: string;
  by?: Principal;
}

export interface SessionCloseInput {
  by?: Principal;
  reason?: string;
}

export interface EventCorrelation {
  conversation_id?: string;
  parent_id?: string;
  workspace_ref?: string;
  task_ref?: string;
}

/** POST /v1/events, one event. */
export interface EventInput {
  event_id: string;
  event_class: EventClass;
  session_id?: string;
  parent_id?: string;
  correlation?: EventCorrelation;
  payload_digest?: string;
}

/** An event's keys, normalised: the parent from parent_id or correlation.parent_id, unset keys null. */
export interface EventKeys {
  session_id: string | null;
  parent_id: string | null;
  conversation_id: string | null;
  workspace_ref: string | null;
  task_ref: string | null;
}
