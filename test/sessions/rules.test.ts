import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rankCandidates, type SessionKeys } from '../../src/sessions/candidates.js';
import { soleOwner, assertOwnedBy } from '../../src/sessions/ownership.js';
import { orphanDocument, type OrphanFacts } from '../../src/sessions/document.js';
import { eventKeys, eventFingerprint, rawEventDigest } from '../../src/sessions/events.js';
import { validateDocument } from '../../src/contracts/validate.js';
import { isQuittanceError } from '../../src/errors.js';
import type { EventKeys } from '../../src/sessions/types.js';

const keys = (k: Partial<EventKeys>): EventKeys => ({ session_id: null, parent_id: null, conversation_id: null, workspace_ref: null, task_ref: null, ...k });
const session = (id: string, k: Partial<Omit<SessionKeys, 'session_id'>> = {}): SessionKeys => ({
  session_id: id, conversation_id: null, workspace_ref: null, task_ref: null, ...k,
});

describe('candidate ranking', () => {
  test('one shared key: every session carrying it is a candidate, sorted', () => {
    const r = rankCandidates(keys({ conversation_id: 'c' }), [session('s2', { conversation_id: 'c' }), session('s1', { conversation_id: 'c' })], null);
    assert.deepEqual(r.map((c) => c.session_id), ['s1', 's2']);
    assert.deepEqual(r[0]!.matched, ['conversation_id']);
  });

  test('a session agreeing on more keys narrows the choice to itself', () => {
    const r = rankCandidates(
      keys({ conversation_id: 'c', task_ref: 't' }),
      [session('s1', { conversation_id: 'c' }), session('s2', { conversation_id: 'c', task_ref: 't' })],
      null,
    );
    assert.deepEqual(r, [{ session_id: 's2', matched: ['conversation_id', 'task_ref'] }]);
  });

  test('a contradicting key rules a session out, however many others agree', () => {
    const r = rankCandidates(
      keys({ conversation_id: 'c', workspace_ref: 'urn:srcos:workspace:w1', task_ref: 't' }),
      [session('s1', { conversation_id: 'c', workspace_ref: 'urn:srcos:workspace:w2', task_ref: 't' }), session('s2', { task_ref: 't' })],
      null,
    );
    assert.deepEqual(r.map((c) => c.session_id), ['s2']);
  });

  test("the parent's session counts as one agreeing key", () => {
    const r = rankCandidates(keys({ parent_id: 'e0', conversation_id: 'c' }), [session('s1', { conversation_id: 'c' }), session('s2', { conversation_id: 'c' })], 's2');
    assert.deepEqual(r, [{ session_id: 's2', matched: ['conversation_id', 'parent_id'] }]);
  });

  test('no shared key, no candidate', () => {
    assert.deepEqual(rankCandidates(keys({}), [session('s1', { conversation_id: 'c' })], null), []);
    assert.deepEqual(rankCandidates(keys({ task_ref: 'x' }), [session('s1', { task_ref: 'y' })], null), []);
  });

  test('property: every candidate agrees on ≥ 1 key, contradicts none, and all share the best score', () => {
    const val = fc.option(fc.constantFrom('a', 'b'), { nil: null });
    const sess = fc.record({ session_id: fc.constantFrom('s1', 's2', 's3', 's4'), conversation_id: val, workspace_ref: val, task_ref: val });
    fc.assert(fc.property(fc.record({ conversation_id: val, workspace_ref: val, task_ref: val }), fc.array(sess, { maxLength: 6 }), (ev, sessions) => {
      const r = rankCandidates(keys(ev), sessions, null);
      const firstOf = new Map<string, SessionKeys>();
      for (const s of sessions) if (!firstOf.has(s.session_id)) firstOf.set(s.session_id, s);
      const score = (s: SessionKeys) => {
        let n = 0;
        for (const k of ['conversation_id', 'workspace_ref', 'task_ref'] as const) {
          if (ev[k] !== null && s[k] !== null) {
            if (ev[k] !== s[k]) return -1;
            n++;
          }
        }
        return n;
      };
      const best = Math.max(0, ...[...firstOf.values()].map(score));
      const expected = [...firstOf.values()].filter((s) => best > 0 && score(s) === best).map((s) => s.session_id).sort();
      assert.deepEqual(r.map((c) => c.session_id), expected);
    }));
  });
});

describe('session ownership', () => {
  const a = { kind: 'agent' as const, id: 'a' };
  const b = { kind: 'agent' as const, id: 'b' };
  const refused = (f: () => unknown) =>
    assert.throws(f, (e: unknown) => isQuittanceError(e) && e.code === 'QUITTANCE_ERR_AMBIGUOUS_SESSION_OWNERSHIP' && e.statusCode === 409);

  test('exactly one owner, however it is named', () => {
    assert.deepEqual(soleOwner({ owner: a }), a);
    assert.deepEqual(soleOwner({ owners: [a] }), a);
    assert.deepEqual(soleOwner({ owner: a, owners: [{ ...a, instance_id: 'p2' }] }), a);
  });

  test('no owner or several owners is ambiguous', () => {
    refused(() => soleOwner({}));
    refused(() => soleOwner({ owners: [] }));
    refused(() => soleOwner({ owners: [a, b] }));
    refused(() => soleOwner({ owner: a, owners: [b] }));
    refused(() => soleOwner({ owners: [a, { kind: 'worker', id: 'a' }] }));
  });

  test('a different owner of a stored session is ambiguous; another instance of the same owner is not', () => {
    refused(() => assertOwnedBy('s', a, b));
    assertOwnedBy('s', a, { ...a, instance_id: 'restarted' });
  });
});

describe('event keys and digests', () => {
  test('parent_id and correlation.parent_id must agree; an event cannot be its own parent', () => {
    assert.equal(eventKeys({ event_id: 'e', event_class: 'plugin', correlation: { parent_id: 'p' } }).parent_id, 'p');
    assert.equal(eventKeys({ event_id: 'e', event_class: 'plugin', parent_id: 'p', correlation: { parent_id: 'p' } }).parent_id, 'p');
    assert.throws(() => eventKeys({ event_id: 'e', event_class: 'plugin', parent_id: 'p', correlation: { parent_id: 'q' } }), /disagree/);
    assert.throws(() => eventKeys({ event_id: 'e', event_class: 'plugin', parent_id: 'e' }), /itself/);
  });

  test('the fingerprint ignores how the parent was given and changes with content', () => {
    const e1 = { event_id: 'e', event_class: 'plugin' as const, parent_id: 'p' };
    const e2 = { event_id: 'e', event_class: 'plugin' as const, correlation: { parent_id: 'p' } };
    assert.equal(eventFingerprint(e1, eventKeys(e1)), eventFingerprint(e2, eventKeys(e2)));
    const e3 = { ...e1, event_class: 'transport' as const };
    assert.notEqual(eventFingerprint(e1, eventKeys(e1)), eventFingerprint(e3, eventKeys(e3)));
    assert.match(rawEventDigest(e1), /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(rawEventDigest(e1), rawEventDigest(e2));
  });
});

describe('OrphanEventReceipt documents', () => {
  const facts: OrphanFacts = {
    orphan_id: '0195f000-0000-7000-8000-000000000001', event_id: 'turn-1', event_class: 'agent_lifecycle',
    keys: keys({ conversation_id: 'conv-1', parent_id: 'turn-0', workspace_ref: 'urn:srcos:workspace:w' }),
    observed_at: '2026-03-01T12:00:00.000Z', expires_at: Date.parse('2026-03-01T12:05:00.000Z'),
    raw_digest: 'sha256:' + 'b'.repeat(64), payload_digest: 'sha256:' + 'c'.repeat(64),
    queued_receipt_id: '0195f000-0000-7000-8000-000000000002', duplicate_of: null,
  };

  test('each state yields a schema-valid document with the state-specific fields', () => {
    const queued = orphanDocument({ ...facts, queued_receipt_id: null }, { state: 'queued', candidates: ['s1', 's2'], captured_at: Date.parse('2026-03-01T12:00:00Z') }, 300);
    assert.equal(validateDocument(queued).valid, true);
    assert.deepEqual(queued.sessionResolution.candidateSessionRefs, ['urn:srcos:session:s1', 'urn:srcos:session:s2']);
    assert.equal(queued.ttl.expired, false);

    const recovered = orphanDocument(facts, {
      state: 'recovered', candidates: ['s1'], captured_at: Date.parse('2026-03-01T12:01:00Z'), recovered: { session_id: 's1', node_receipt_id: 'n-1' },
    }, 300);
    assert.equal(validateDocument(recovered).valid, true);
    assert.equal(recovered.sessionResolution.recoveredSessionRef, 'urn:srcos:session:s1');
    assert.equal(recovered.sessionResolution.recoveredDagNodeRef, 'urn:srcos:session-dag-node:n-1');
    assert.equal(recovered.sessionResolution.reconciledAt, '2026-03-01T12:01:00.000Z');
    assert.ok(recovered.evidenceRefs.includes('urn:quittance:receipt:' + facts.queued_receipt_id));

    const quarantined = orphanDocument(facts, { state: 'quarantined', candidates: [], captured_at: Date.parse('2026-03-01T12:05:01Z') }, 300);
    assert.equal(validateDocument(quarantined).valid, true);
    assert.equal(quarantined.sessionResolution.quarantinedAt, '2026-03-01T12:05:01.000Z');
    assert.deepEqual(quarantined.ttl, { expiresAt: '2026-03-01T12:05:00.000Z', expired: true });
    assert.match(quarantined.policyDecisionRef, /^urn:srcos:decision:/);
    assert.ok(quarantined.causalRefs!.includes('urn:srcos:event:turn-0'));
  });

  test('a recovered document without its session would be refused by the validator (the rule the builder relies on)', () => {
    const recovered = orphanDocument(facts, {
      state: 'recovered', candidates: ['s1'], captured_at: Date.parse('2026-03-01T12:01:00Z'), recovered: { session_id: 's1', node_receipt_id: 'n-1' },
    }, 300);
    const broken = { ...recovered, sessionResolution: { ...recovered.sessionResolution, recoveredSessionRef: null } };
    assert.equal(validateDocument(broken).valid, false);
  });

  test('the builder refuses to produce an invalid document', () => {
    assert.throws(() => orphanDocument({ ...facts, keys: keys({ workspace_ref: '/home/me/repo' }) }, { state: 'queued', candidates: [], captured_at: 0 }, 300), /invalid OrphanEventReceipt/);
  });
});
