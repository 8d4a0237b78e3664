/** Pure handling of one incoming event: its normalised keys, and the digests that identify its content. */
import { QuittanceError } from '../errors.js';
import { canonicalize } from '../ledger/canonical.js';
import { sha256Hex } from '../ledger/hashing.js';
import type { EventInput, EventKeys } from './types.js';

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
