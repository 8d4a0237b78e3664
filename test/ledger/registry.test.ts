import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RECEIPT_TYPES, canTerminate, legalTerminators, isObligationType, ANOMALY_KINDS } from '../../src/ledger/registry.js';

test('the termination table is exactly DESIGN §3', () => {
  const table: Record<string, string[]> = {};
  for (const t of Object.keys(RECEIPT_TYPES).filter(isObligationType)) table[t] = legalTerminators(t).sort();
  assert.deepEqual(table, {
    'task.assigned': ['task.canceled', 'task.completed', 'task.escalated', 'task.failed'],
    'lease.granted': ['lease.expired', 'lease.released', 'task.canceled', 'task.completed', 'task.failed', 'task.retry_scheduled'],
    'stamp.minted': ['stamp.tombstoned'],
    'session.opened': ['session.closed'],
    'automation.started': ['automation.ended'],
    'orphan.queued': ['orphan.discarded_duplicate', 'orphan.quarantined', 'orphan.recovered'],
  });
});

test('only terminators close, and only obligations are closed', () => {
  const types = Object.keys(RECEIPT_TYPES);
  fc.assert(fc.property(fc.constantFrom(...types), fc.constantFrom(...types), (a, b) => {
    if (canTerminate(a, b)) {
      assert.equal(RECEIPT_TYPES[a]!.role, 'terminator');
      assert.equal(RECEIPT_TYPES[b]!.role, 'obligation');
    }
    if (RECEIPT_TYPES[a]!.role !== 'terminator') assert.equal(canTerminate(a, b), false);
  }), { numRuns: 2000 });
  assert.equal(canTerminate('system.anomaly', 'task.assigned'), false);
  assert.equal(canTerminate('toString', 'task.assigned'), false);
});

test('every type and anomaly kind is documented', () => {
  for (const [t, spec] of Object.entries(RECEIPT_TYPES)) assert.ok(spec.description.length > 10, t);
  for (const k of ['success_without_locatability', 'missing_tombstone', 'repeated_lease_expiry', 'max_attempts_exceeded', 'stale_lease_write',
    'capability_split_brain', 'orphan_quarantined', 'action_after_revocation', 'chain_break', 'evidence_corrupt']) assert.ok(ANOMALY_KINDS[k], k);
});
