/**
 * Claiming (DESIGN §5): the queue read in priority order for tasks the worker can take, each granted a lease
 * (lease.granted, a lease row, a lease stamp when stamps are on) in the claim's write; and a claim sent again
 * (its claim_id) answering the leases it granted before. Stamps are signed after the write commits.
 */
import { isoTime } from '../clock.js';
import type { Ledger } from '../ledger/ledger.js';
import { LEDGER_PRINCIPAL, type Principal } from '../ledger/types.js';
import type { Tx } from '../store/types.js';
import { hasCapabilities } from './policy.js';
import { setTaskStatus } from './steps.js';
import { addResentToken, mintToken } from './tokens.js';
import type { ClaimInput, Grant, LeaseRow, TaskRow } from './types.js';

/** A lease's credential as its claim's write leaves it: `token()` signs it, once that write has committed. */
export interface LeaseStamp {
  stamp_id: string;
  expires_at: string;
  token(): Promise<string>;
}

/** Credentials minted for a lease and closed when it ends (src/stamps plugs in here). */
export interface LeaseStamps {
  mintForLease(tx: Tx, tenantId: string, task: TaskRow, lease: LeaseRow, worker: Principal, ttlSeconds: number): Promise<LeaseStamp>;
  /** The stamp minted for a lease as its claim answered it, for that claim sent again (the same token, signed again). */
  mintedForLease(tx: Tx, tenantId: string, stampId: string): Promise<LeaseStamp>;
  tombstoneForLease(tx: Tx, tenantId: string, stampId: string, outcome: 'completed' | 'crashed' | 'timeout' | 'revoked', closedBy: 'subject' | 'gate' | 'operator', reason: string): Promise<void>;
}

/** A grant as the claim's write leaves it: its stamp, if any, not signed yet. */
export interface Granted {
  grant: Grant;
  stamp: LeaseStamp | undefined;
}

const CLAIM_PAGE = 200;
/** A claim scans at most this many queued tasks looking for ones the worker can take. */
const CLAIM_SCAN_MAX = 4000;

/** Up to `max` leases of tasks the worker can take, or what the claim granted before when it is sent again. */
export async function claimInTx(ledger: Ledger, stamps: LeaseStamps | undefined, tx: Tx, tenantId: string, input: ClaimInput, max: number, ttl: number, now: number): Promise<Granted[]> {
  const have = new Set(input.capabilities ?? []);
  const types = input.accept_types;
  const claimed = input.claim_id === undefined ? [] : await tx.leasesOfClaim(tenantId, input.worker_id, input.claim_id);
  if (claimed.length > 0) return claimedAgain(stamps, tx, claimed, now);
  const grants: Granted[] = [];
  let after: { priority: number; queue_seq: number } | undefined;
  // Pages sized to the claim: a claim for one task reads a few rows, not a whole page of the queue.
  const pageSize = Math.min(CLAIM_PAGE, Math.max(8, max * 2));
  for (let scanned = 0; grants.length < max && scanned < CLAIM_SCAN_MAX;) {
    const page = await tx.claimCandidates(tenantId, after, pageSize, { now, types, capabilities: [...have] });
    scanned += page.length;
    for (const task of page) {
      if (grants.length === max) break;
      if (task.next_eligible_at > now || (types && !types.includes(task.type)) || !hasCapabilities(task.capabilities, have)) continue;
      grants.push(await grant(ledger, stamps, tx, task, input.worker_id, input.claim_id ?? null, ttl, now));
    }
    if (page.length < pageSize) break;
    const last = page[page.length - 1]!;
    after = { priority: last.priority, queue_seq: last.queue_seq };
  }
  return grants;
}

/** The grants as the claim answers them: lease stamps are signed only now that the claim has committed (see LeaseStamp). */
export function signedGrants(granted: Granted[]): Promise<Grant[]> {
  return Promise.all(granted.map(async ({ grant, stamp }) => {
    if (!stamp) return grant;
    return { ...grant, stamp: { stamp_id: stamp.stamp_id, token: await stamp.token(), expires_at: stamp.expires_at } };
  }));
}

/**
 * A claim sent again because its answer was lost: the leases it granted that are still active, each with a new
 * lease token (only hashes are kept, so an earlier answer's token cannot be given again), and the lease stamp's
 * token as the first answer had it. The earlier tokens keep working: the answer the worker waits for is not always
 * the last one written (a resend can be written before the original it repeats, held up on its way, and that
 * original's new token replacing the resend's left the worker with a token refused as LEASE_LOST). Leases that
 * ended since are left out; nothing is granted and nothing is appended (a new token is not a ledger event: the
 * lease, its holder and its term are those lease.granted recorded).
 */
async function claimedAgain(stamps: LeaseStamps | undefined, tx: Tx, leases: LeaseRow[], now: number): Promise<Granted[]> {
  const grants: Granted[] = [];
  for (const lease of leases) {
    if (lease.state !== 'active' || now >= lease.expires_at) continue;
    const task = await tx.taskById(lease.tenant_id, lease.task_id);
    if (!task || task.lease_id !== lease.lease_id) continue;
    const token = addResentToken(lease);
    await tx.updateLease(lease);
    const stamp = stamps && lease.stamp_id ? await stamps.mintedForLease(tx, lease.tenant_id, lease.stamp_id) : undefined;
    grants.push({ grant: grantOf(task, lease, token), stamp });
  }
  return grants;
}

function grantOf(task: TaskRow, lease: LeaseRow, token: string): Grant {
  return {
    task_id: task.task_id, type: task.type, lease_id: lease.lease_id, lease_token: token, payload: task.payload, payload_ref: task.payload_ref,
    attempt: lease.attempt, expires_at: isoTime(lease.expires_at),
  };
}

async function grant(ledger: Ledger, stamps: LeaseStamps | undefined, tx: Tx, task: TaskRow, workerId: string, claimId: string | null, ttlSeconds: number, now: number): Promise<Granted> {
  const leaseId = `lease_${ledger.ctx.newId()}`;
  const { token, hash } = mintToken();
  const worker: Principal = { kind: 'worker', id: workerId };
  const expiresAt = now + ttlSeconds * 1000;
  const r = await ledger.appendInTx(tx, task.tenant_id, {
    type: 'lease.granted', from: LEDGER_PRINCIPAL, to: worker, task_id: task.task_id, lease_id: leaseId,
    parents: [task.assigned_receipt_id],
    body: { attempt: task.attempt, claim: task.claims + 1, ttl_seconds: ttlSeconds, expires_at: isoTime(expiresAt) },
  }, { writer: 'tasks' });
  const lease: LeaseRow = {
    tenant_id: task.tenant_id, lease_id: leaseId, task_id: task.task_id, worker_id: workerId, token_hash: hash,
    granted_receipt_id: r.receipt.receipt_id, attempt: task.attempt, state: 'active', granted_at: now, expires_at: expiresAt,
    last_heartbeat_at: now, renewals: 0, stamp_id: null, ended_at: null, claim_id: claimId, resent_token_hashes: null,
  };
  await tx.insertLease(lease);
  let stamp: LeaseStamp | undefined;
  if (stamps) {
    stamp = await stamps.mintForLease(tx, task.tenant_id, task, lease, worker, ttlSeconds);
    lease.stamp_id = stamp.stamp_id;
    await tx.updateLease(lease);
  }
  await setTaskStatus(tx, task, 'leased', now, { claims: task.claims + 1, lease_id: leaseId });
  return { grant: grantOf(task, lease, token), stamp };
}
