/**
 * A session has exactly one owner (DESIGN §7). Pure: decides who owns a session being opened, or why nobody can.
 * Ownership compares kind and id: instance_id says which running process of the owner spoke, not who owns.
 */
import { QuittanceError } from '../errors.js';
import type { Principal } from '../ledger/types.js';

export function ownerLabel(p: Pick<Principal, 'kind' | 'id'>): string {
  return `${p.kind}:${p.id}`;
}

export function sameOwner(a: Pick<Principal, 'kind' | 'id'>, b: Pick<Principal, 'kind' | 'id'>): boolean {
  return a.kind === b.kind && a.id === b.id;
}

/**
 * The one owner named by `owner` and/or `owners`. No owner, or several different ones, is ambiguous session
 * ownership (409). The same principal named twice is still one owner; the first naming wins its instance_id.
 */
export function soleOwner(input: { owner?: Principal | undefined; owners?: readonly Principal[] | undefined }): Principal {
  const named = [...(input.owner ? [input.owner] : []), ...(input.owners ?? [])];
  const distinct: Principal[] = [];
  for (const p of named) if (!distinct.some((d) => sameOwner(d, p))) distinct.push(p);
  if (distinct.length === 0) {
    throw new QuittanceError('QUITTANCE_ERR_AMBIGUOUS_SESSION_OWNERSHIP', ['no owner was named'], { details: { owners: [] } });
  }
  if (distinct.length > 1) {
    const labels = distinct.map(ownerLabel);
    throw new QuittanceError('QUITTANCE_ERR_AMBIGUOUS_SESSION_OWNERSHIP', [`${distinct.length} owners were named (${labels.join(', ')})`], {
      details: { owners: labels },
    });
  }
  return distinct[0]!;
}

/** Opening an existing session: the same owner is an idempotent retry; anyone else is refused. */
export function assertOwnedBy(sessionId: string, stored: Principal, claimed: Principal): void {
  if (sameOwner(stored, claimed)) return;
  throw new QuittanceError(
    'QUITTANCE_ERR_AMBIGUOUS_SESSION_OWNERSHIP',
    [`session ${sessionId} is already owned by ${ownerLabel(stored)}, not ${ownerLabel(claimed)}`],
    { details: { session_id: sessionId, owners: [ownerLabel(stored), ownerLabel(claimed)] } },
  );
}
