/** Pure handling of one incoming event: its normalised keys, and the digests that identify its content. */
import { QuittanceError } from '../errors.js';
import { canonicalize } from '../ledger/canonical.js';
import { sha256Hex } from '../ledger/hashing.js';
import type { EventInput, EventKeys } from './types.js';

/**
 * Most UTF-8 bytes of a workspace_ref, wherever one is given (a session's, an event's). An open session is found by
 * its workspace_ref through an index of (tenant, workspace_ref, session_id), which PostgreSQL holds only up to 2704
 * bytes: a ref of 512 characters (the route's bound) of 4 bytes each beside a session_id of 256 such characters was
 * an index error there, a 500, while SQLite opened the session. 1536 bytes (512 characters of 3 bytes, most CJK)
 * fit beside the longest session_id; events are held to the same, since only a ref a session can carry can match.
 */
export const WORKSPACE_REF_MAX_BYTES = 1536;

/** Refuses (400) a workspace_ref over WORKSPACE_REF_MAX_BYTES; `field` names it in the message. */
export function assertWorkspaceRefBytes(field: string, value: string | undefined): void {
  if (value === undefined) return;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > WORKSPACE_REF_MAX_BYTES) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`${field} takes ${bytes} bytes as UTF-8, over the ${WORKSPACE_REF_MAX_BYTES} a workspace_ref may take`]);
  }
}

/**
 * The event's keys. `parent_id` and `correlation.parent_id` name the same thing (the parent event, whose edge the
 * DAG draws); either may be given, and both only when they agree.
 */
export function eventKeys(e: EventInput): EventKeys {
  const c = e.correlation ?? {};
  if (e.parent_id !== undefined && c.parent_id !== undefined && e.parent_id !== c.parent_id) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [
      `event ${e.event_id}: parent_id ${JSON.stringify(e.parent_id)} and correlation.parent_id ${JSON.stringify(c.parent_id)} disagree`,
    ]);
  }
  assertWorkspaceRefBytes(`event ${e.event_id}: correlation.workspace_ref`, c.workspace_ref);
  const parent = e.parent_id ?? c.parent_id ?? null;
  if (parent === e.event_id) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`event ${e.event_id} names itself as its parent`]);
  }
  return {
    session_id: e.session_id ?? null,
    parent_id: parent,
    conversation_id: c.conversation_id ?? null,
    workspace_ref: c.workspace_ref ?? null,
    task_ref: c.task_ref ?? null,
  };
}

/** What the event says, normalised: two deliveries with the same fingerprint are the same event. */
export function eventFingerprint(e: EventInput, keys: EventKeys): string {
  return sha256Hex(canonicalize({ event_id: e.event_id, event_class: e.event_class, ...keys, payload_digest: e.payload_digest ?? null }));
}

/** sha256:<hex> of the event exactly as received (as canonical JSON): the rawEventDigest of its OrphanEventReceipt. */
export function rawEventDigest(e: EventInput): string {
  return `sha256:${sha256Hex(canonicalize(e))}`;
}
