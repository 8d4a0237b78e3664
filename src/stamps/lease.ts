/**
 * Stamps bound to leases (DESIGN §5–6): the tasks engine mints one with every lease and has the gate tombstone it
 * when the lease ends — complete → completed, worker-reported failure → crashed, lease expiry → timeout,
 * cancel → revoked. This adapts the Stamps engine to the plug the tasks engine offers (TaskEngine.stamps).
 */
import { isQuittanceError } from '../errors.js';
import type { QuittanceConfig } from '../config.js';
import type { LeaseStamps } from '../tasks/engine.js';
import { SCOPE_TOKEN } from './mint-input.js';
import type { Stamps } from './stamps.js';

/**
 * How long a lease stamp outlives the longest its lease can run. The gate's timeout tombstone is written by the
 * lease sweep once the lease has expired; a TTL ending at that same instant lets the stamp sweep (every server
 * runs both, in no set order) flag the stamp ambiguous first, with a missing_tombstone anomaly for a lease that
 * ended as leases do.
 */
const LEASE_STAMP_GRACE_SECONDS = 60;

export function leaseStamps(stamps: Stamps, config: Readonly<QuittanceConfig>): LeaseStamps {
  // A lease may be renewed up to its lifetime limit; the stamp's TTL (the safety net) must not run out before the
  // lease sweep can close it, or a healthy, renewed lease would leave an ambiguous stamp.
  const ttlSeconds = Math.min(config.tasks.leaseLifetimeSecondsMax + LEASE_STAMP_GRACE_SECONDS, config.stamps.ttlSecondsMax);
  return {
    async mintForLease(tx, tenantId, task, lease, worker, leaseTtlSeconds) {
      const r = await stamps.mintInTx(tx, tenantId, {
        subject: worker,
        task_ref: task.task_id,
        // The task's required capabilities that are valid scope tokens.
        scope: task.capabilities.filter((c) => SCOPE_TOKEN.test(c)).slice(0, config.stamps.scopeEntriesMax),
        ttl_seconds: Math.max(ttlSeconds, leaseTtlSeconds),
        task_id: task.task_id,
        lease_id: lease.lease_id,
        worker: worker.id,
        parents: [lease.granted_receipt_id],
      });
      return { stamp_id: r.stamp.stamp_id, expires_at: r.stamp.expires_at, token: r.sign };
    },
    async mintedForLease(tx, tenantId, stampId) {
      const r = await stamps.mintedAgainInTx(tx, tenantId, stampId);
      return { stamp_id: r.stamp.stamp_id, expires_at: r.stamp.expires_at, token: r.sign };
    },
    async tombstoneForLease(tx, tenantId, stampId, outcome, closedBy, reason) {
      try {
        await stamps.tombstoneInTx(tx, tenantId, stampId, { outcome, closed_by: closedBy, reason });
      } catch (e) {
        // The subject closed its stamp itself with another outcome first: a stamp has exactly one tombstone, and
        // the lease must still end. The refusal happens before any write, so the transaction goes on unharmed.
        if (!isQuittanceError(e) || e.code !== 'QUITTANCE_ERR_STAMP_TOMBSTONED') throw e;
      }
    },
  };
}
