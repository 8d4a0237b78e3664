import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../ledger/types.js';

/** Who a receipt written on behalf of a request is from, when the request names no one: its API key. */
export function keyPrincipal(request: FastifyRequest): Principal {
  return { kind: 'service', id: `key:${request.caller.key_id}` };
}

/**
 * The SourceOS references a recorded document needs but the producer left out. What the ledger knows for sure is
 * the credential that asked, so that is what they name: the key's implicit session, the key's write scope as the
 * policy decision that admitted the record (a record no decision stands behind would not be accountable), and
 * Quittance's own, implicit capability for the kind of record. A producer that has the real ones sends them.
 */
export function implicitRefs(request: FastifyRequest, capability: string): { sessionRef: string; capabilityLedgerRef: string; policyDecisionRef: string } {
  const key = request.caller.key_id;
  return {
    sessionRef: `urn:srcos:session:quittance-key-${key}`,
    capabilityLedgerRef: `urn:srcos:capability-ledger:quittance-${capability}`,
    policyDecisionRef: `urn:srcos:decision:quittance-key-${key}-write-scope`,
  };
}
