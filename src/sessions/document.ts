/**
 * The OrphanEventReceipt (DESIGN §9) that every orphan receipt carries: built here from the orphan's facts, then
 * checked against schemas/OrphanEventReceipt.schema.json and the semantic rules before anything stores it. Pure.
 */
import { isoTime } from '../clock.js';
import { validateDocument } from '../contracts/validate.js';
import type { OrphanEventReceipt } from '../contracts/types.js';
import type { EventClass, EventKeys, OrphanState } from './types.js';

export const ORPHAN_SPEC_VERSION = '0.1.0';

export const sessionRef = (sessionId: string): string => `urn:srcos:session:${sessionId}`;
export const eventRef = (eventId: string): string => `urn:srcos:event:${eventId}`;
export const dagNodeRef = (receiptId: string): string => `urn:srcos:session-dag-node:${receiptId}`;
export const receiptRef = (receiptId: string): string => `urn:quittance:receipt:${receiptId}`;
export const orphanDocumentId = (orphanId: string): string => `urn:srcos:receipt:orphan-event:${orphanId}`;

/** The decision each state was reached under: Quittance's own orphan policy, named so a reader can find it. */
export function orphanPolicyDecision(state: OrphanState, ttlSeconds: number): string {
  switch (state) {
    case 'queued':
      return `urn:srcos:decision:quittance:orphan-queue:ttl-${ttlSeconds}s`;
    case 'recovered':
      return 'urn:srcos:decision:quittance:orphan-reconcile:single-candidate';
    case 'quarantined':
      return `urn:srcos:decision:quittance:orphan-quarantine:unreconciled-after-${ttlSeconds}s`;
    case 'discarded_duplicate':
      return 'urn:srcos:decision:quittance:orphan-duplicate:first-delivery-wins';
  }
}

export interface OrphanFacts {
  orphan_id: string;
  event_id: string;
  event_class: EventClass;
  keys: EventKeys;
  observed_at: string;
  /** ms since the epoch. */
  expires_at: number;
  raw_digest: string;
  payload_digest: string | null;
  /** Known once the orphan.queued receipt exists; the queued document is inside that receipt, so it has none. */
  queued_receipt_id: string | null;
  /** For a discarded duplicate: the orphan of the first delivery. */
  duplicate_of: string | null;
}

export interface OrphanResolution {
  state: OrphanState;
  /** Session ids. */
  candidates: readonly string[];
  /** ms since the epoch. */
  captured_at: number;
  recovered?: { session_id: string; node_receipt_id: string };
}

function unique(list: (string | null)[]): string[] {
  return Array.from(new Set(list.filter((x): x is string => x !== null)));
}

/** Builds the document and validates it; an invalid one is a bug here, never the caller's input (which is checked first). */
export function orphanDocument(o: OrphanFacts, r: OrphanResolution, ttlSeconds: number): OrphanEventReceipt {
  const at = isoTime(r.captured_at);
  const doc: OrphanEventReceipt = {
    id: orphanDocumentId(o.orphan_id),
    type: 'OrphanEventReceipt',
    specVersion: ORPHAN_SPEC_VERSION,
    eventRef: eventRef(o.event_id),
    eventClass: o.event_class,
    observedAt: o.observed_at,
    rawEventDigest: o.raw_digest,
    sessionResolution: {
      state: r.state,
      candidateSessionRefs: unique(r.candidates.map(sessionRef)),
      recoveredSessionRef: r.recovered ? sessionRef(r.recovered.session_id) : null,
      recoveredDagNodeRef: r.recovered ? dagNodeRef(r.recovered.node_receipt_id) : null,
      reconciledAt: r.state === 'recovered' ? at : null,
      quarantinedAt: r.state === 'quarantined' ? at : null,
    },
    ttl: { expiresAt: isoTime(o.expires_at), expired: r.state === 'quarantined' || r.captured_at >= o.expires_at },
    correlationKeys: {
      conversationId: o.keys.conversation_id,
      parentId: o.keys.parent_id,
      workspaceRef: o.keys.workspace_ref,
      taskRef: o.keys.task_ref,
    },
    causalRefs: unique([
      eventRef(o.event_id),
      o.keys.parent_id === null ? null : eventRef(o.keys.parent_id),
      o.duplicate_of === null ? null : orphanDocumentId(o.duplicate_of),
    ]),
    policyDecisionRef: orphanPolicyDecision(r.state, ttlSeconds),
    evidenceRefs: unique([o.raw_digest, o.payload_digest, o.queued_receipt_id === null ? null : receiptRef(o.queued_receipt_id)]),
    capturedAt: at,
  };
  const check = validateDocument(doc);
  if (!check.valid) {
    const why = check.errors.map((e) => `${e.path || '(document)'} ${e.message}`).join('; ');
    throw new Error(`quittance: built an invalid OrphanEventReceipt for event ${o.event_id}: ${why}`);
  }
  return doc;
}
