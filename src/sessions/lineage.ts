/** An event's place in its session DAG, checked for a loop before the event is taken. */
import { QuittanceError } from '../errors.js';
import type { Tx } from '../store/types.js';

/**
 * Refuses (400) an event whose parent chain would lead back to it. Each event names at most one parent, and parents
 * may arrive after their children: A naming B, then B naming A, both attached to their session, drew a loop in its
 * DAG (GET /v1/sessions/{id} showed the edges A→B and B→A), as naming itself does at distance one. The events taken
 * so far form no loop, so a new event closes one only if its parent descends from it: if events received before it
 * named it as their parent (or named those, and so on). The check looks down from the new event through its
 * children, which for an event arriving after its parent, nearly every one, is a single index probe finding none,
 * whatever the depth of its chain. It visits at most `visitMax` descendants; an event with more is refused as well,
 * since it could not be checked. Refused before anything is written.
 */
export async function assertNoParentLoop(tx: Tx, tenantId: string, eventId: string, parentId: string | null, visitMax: number): Promise<void> {
  if (parentId === null) return;
  // Each descendant seen, with its parent (the event it was found under): the way back up for the message.
  const parentOf = new Map<string, string>();
  for (let level = [eventId]; level.length > 0;) {
    const next: string[] = [];
    for (const id of level) {
      for (const child of await tx.sessionEventChildren(tenantId, id, visitMax + 1)) {
        if (child === eventId || parentOf.has(child)) continue;
        parentOf.set(child, id);
        if (child === parentId) throw loop(eventId, parentId, parentOf);
        if (parentOf.size > visitMax) {
          throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [
            `event ${eventId}: more than the ${visitMax} events sessions.eventDescendantsCheckedMax allows already name it as an ancestor, so whether it closes a loop cannot be checked`,
          ]);
        }
        next.push(child);
      }
    }
    level = next;
  }
}

/** The loop, from the new event up through its parent's chain back to it: "e" → "p" → … → "e". */
function loop(eventId: string, parentId: string, parentOf: Map<string, string>): QuittanceError {
  const chain = [eventId, parentId];
  for (let at = parentId; at !== eventId;) chain.push((at = parentOf.get(at)!));
  return new QuittanceError('QUITTANCE_ERR_VALIDATION', [
    `event ${eventId}: its parent chain leads back to it (${chain.map((id) => JSON.stringify(id)).join(' → ')}); a session DAG has no loops`,
  ]);
}
