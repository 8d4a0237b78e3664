import { QuittanceError } from '../../errors.js';
import type { Principal } from '../../ledger/types.js';

/** principal_kind and principal_id come together or not at all. */
export function principalFilter(q: { principal_kind?: Principal['kind'] | undefined; principal_id?: string | undefined }): Pick<Principal, 'kind' | 'id'> | undefined {
  if (q.principal_kind === undefined && q.principal_id === undefined) return undefined;
  if (q.principal_kind === undefined || q.principal_id === undefined) {
    throw new QuittanceError('QUITTANCE_ERR_VALIDATION', ['principal_kind and principal_id must be given together']);
  }
  return { kind: q.principal_kind, id: q.principal_id };
}
