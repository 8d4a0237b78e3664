/**
 * Sessions and orphan-event quarantine (DESIGN §7): the engine behind /v1/sessions, /v1/events and /v1/orphans,
 * and the orphan sweep. Every change is a receipt appended in the same transaction as the projection it moves.
 *
 * Repeated event_ids, decided here: the first delivery of an event_id wins.
 * - If that event is a DAG node (attached at once, or recovered later), a repeat with the same content is an
 *   idempotent retry: 200 `duplicate` naming the node's receipt, nothing written. A repeat with different content
 *   is refused: 409 QUITTANCE_ERR_EVENT_ID_CONFLICT, nothing written.
 * - If it is not (still queued, or quarantined), the repeat is itself recorded: an orphan.queued closed at once by
 *   orphan.discarded_duplicate with a discarded_duplicate OrphanEventReceipt; the first delivery keeps its course.
 * So every delivery gets a receipt (new, or the stored node's) or a coded refusal: nothing is dropped silently.
 */
import { QuittanceError, isQuittanceError } from '../errors.js';
import { isoTime, type Clock } from '../clock.js';
import { decodeCursor, nextCursor } from '../ledger/cursor.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Principal, Receipt } from '../ledger/types.js';
import type { Tx } from '../store/types.js';
import { sweepFailed, sweepWrite } from '../store/sweep-write.js';
import { assertWorkspaceRefBytes, eventFingerprint, eventKeys, rawEventDigest } from './events.js';
import { assertOwnedBy, soleOwner } from './ownership.js';
import { assertNoParentLoop } from './lineage.js';
import {
  SESSION_KEYS, type EventInput, type OrphanState, type SessionCloseInput, type SessionEventRow, type SessionKey,
  type SessionOpenInput, type SessionRow, type SessionUpdateInput,
} from './types.js';
import { nodeView, orphanView, sessionView } from './view.js';
import { SessionWrite, type Reconciliation } from './write.js';

/** An answer: the HTTP status it maps to and its body. */
export interface Answer {
  statusCode: number;
  body: Record<string, unknown>;
}

export type EventItemResult = { ok: true; answer: Answer } | { ok: false; error: QuittanceError };

/**
 * The due orphans grouped by tenant, tenants in ascending order (stable: expiry order stays within a tenant). The
 * sweep's write locks each orphan's tenant when it first meets it, so this is the order it takes tenants in: the
 * one global order of every sweep that spans tenants (PgBatch.lockTenants for leases, expiredActiveStamps for
 * stamps). In expiry order, two servers' sweeps could each hold a tenant the other waits for (their due lists
 * differ as soon as one was read before an orphan was recovered or a page was taken): a deadlock. In this order
 * they wait for each other, never in a cycle. `<` on strings is the comparison Array.prototype.sort uses.
 */
function inTenantOrder<T extends { tenant_id: string }>(due: T[]): T[] {
  return due.sort((a, b) => (a.tenant_id < b.tenant_id ? -1 : a.tenant_id > b.tenant_id ? 1 : 0));
}

const NO_RECONCILIATION: Reconciliation = Object.freeze({ recovered: [], ambiguous: [] }) as Reconciliation;

export class Sessions {
  private readonly clock: Clock;

  constructor(private readonly ledger: Ledger) {
    this.clock = ledger.clock;
  }

  private get config() {
    return this.ledger.config.sessions;
  }

  private async receiptById(tx: Tx, tenantId: string, id: string): Promise<Receipt> {
    const [r] = await tx.receiptsByIds(tenantId, [id]);
    if (!r) throw new Error(`quittance: receipt ${id} of a session projection is missing`);
    return r;
  }

  private async sessionIn(tx: Tx, tenantId: string, sessionId: string): Promise<SessionRow> {
    const s = await tx.sessionById(tenantId, sessionId);
    if (!s) throw new QuittanceError('QUITTANCE_ERR_SESSION_NOT_FOUND', [sessionId]);
    return s;
  }

  /**
   * Opens a session with its one owner (session.opened), then reconciles the orphans it may own. The same owner
   * opening it again with the same fields gets the stored session (200); a different owner is ambiguous session
   * ownership (409); different fields are a conflict (409: keys are added with update()).
   */
  async open(tenantId: string, input: SessionOpenInput): Promise<Answer> {
    const owner = soleOwner(input);
    // As an event cannot be its own parent (events.ts): the session tree would hold a loop.
    if (input.parent_session_id === input.session_id) {
      throw new QuittanceError('QUITTANCE_ERR_VALIDATION', [`session ${input.session_id} names itself as its own parent (parent_session_id)`]);
    }
    assertWorkspaceRefBytes('body/workspace_ref', input.workspace_ref);
    return this.ledger.store.write(async (tx) => {
      const now = this.clock.now();
      const existing = await tx.sessionById(tenantId, input.session_id);
      if (existing) {
        assertOwnedBy(input.session_id, existing.owner, owner);
        for (const k of [...SESSION_KEYS, 'parent_session_id'] as const) {
          if (input[k] !== undefined && input[k] !== existing[k]) {
            throw new QuittanceError('QUITTANCE_ERR_SESSION_REOPEN_CONFLICT', [input.session_id, k], { details: { field: k, stored: existing[k] } });
          }
        }
        const receipt = await this.receiptById(tx, tenantId, existing.opened_receipt_id);
        return { statusCode: 200, body: { status: 'existing', session: sessionView(existing), receipt, reconciliation: NO_RECONCILIATION } };
      }
      const body: Record<string, unknown> = { session_id: input.session_id, owner };
      for (const k of [...SESSION_KEYS, 'parent_session_id'] as const) if (input[k] !== undefined) body[k] = input[k];
      const w = new SessionWrite(tx, tenantId, this.ledger, now);
      const receipt = await w.append({ type: 'session.opened', from: owner, to: owner, session_id: input.session_id, body });
      const session: SessionRow = {
        tenant_id: tenantId, session_id: input.session_id, owner, conversation_id: input.conversation_id ?? null,
        workspace_ref: input.workspace_ref ?? null, task_ref: input.task_ref ?? null, parent_session_id: input.parent_session_id ?? null,
        state: 'open', opened_receipt_id: receipt.receipt_id, closed_receipt_id: null, last_update_receipt_id: null,
        opened_at: receipt.created_at, updated_at: receipt.created_at, closed_at: null,
      };
      await tx.insertSession(session);
      await w.reconcileSession(session);
      return { statusCode: 201, body: { status: 'created', session: sessionView(session), receipt, reconciliation: w.reconciliation() } };
    });
  }

  /**
   * Adds correlation keys to an open session (a session.event receipt with kind keys_added), then reconciles.
   * A key already set to another value is refused: keys are evidence, and changing one would re-read history.
   */
  async update(tenantId: string, sessionId: string, input: SessionUpdateInput, by: Principal): Promise<Answer> {
    assertWorkspaceRefBytes('body/workspace_ref', input.workspace_ref);
    return this.ledger.store.write(async (tx) => {
      const now = this.clock.now();
      const s = await this.sessionIn(tx, tenantId, sessionId);
      const added: Partial<Record<SessionKey, string>> = {};
      for (const k of SESSION_KEYS) {
        const v = input[k];
        if (v === undefined || v === s[k]) continue;
        if (s[k] !== null) throw new QuittanceError('QUITTANCE_ERR_SESSION_KEY_CONFLICT', [sessionId, k, JSON.stringify(s[k])], { details: { field: k, stored: s[k] } });
        added[k] = v;
      }
      if (Object.keys(added).length === 0) {
        return { statusCode: 200, body: { status: 'unchanged', session: sessionView(s), receipt: null, reconciliation: NO_RECONCILIATION } };
      }
      if (s.state === 'closed') throw new QuittanceError('QUITTANCE_ERR_SESSION_CLOSED', [sessionId]);
      const w = new SessionWrite(tx, tenantId, this.ledger, now);
      const receipt = await w.append({
        type: 'session.event', from: by, to: s.owner, session_id: sessionId, parents: [s.last_update_receipt_id ?? s.opened_receipt_id],
        body: { kind: 'keys_added', session_id: sessionId, added },
      });
      const updated: SessionRow = { ...s, ...added, last_update_receipt_id: receipt.receipt_id, updated_at: receipt.created_at };
      await tx.updateSession(updated);
      await w.reconcileSession(updated);
      return { statusCode: 200, body: { status: 'updated', session: sessionView(updated), receipt, reconciliation: w.reconciliation() } };
    });
  }

  /**
   * Closes the session (session.closed, exactly once: a repeat answers the stored close), then reconciles: a
   * closed session is no longer a candidate, so orphans it made ambiguous may now resolve to the other one.
   */
  async close(tenantId: string, sessionId: string, input: SessionCloseInput, by: Principal): Promise<Answer> {
    return this.ledger.store.write(async (tx) => {
      const now = this.clock.now();
      const s = await this.sessionIn(tx, tenantId, sessionId);
      if (s.state === 'closed') {
        const receipt = await this.receiptById(tx, tenantId, s.closed_receipt_id!);
        return { statusCode: 200, body: { status: 'already_closed', session: sessionView(s), receipt, reconciliation: NO_RECONCILIATION } };
      }
      const w = new SessionWrite(tx, tenantId, this.ledger, now);
      const receipt = await w.append({
        type: 'session.closed', from: input.by ?? by, to: s.owner, session_id: sessionId, parents: [s.opened_receipt_id],
        body: { session_id: sessionId, ...(input.reason !== undefined && { reason: input.reason }) },
      });
      const closed: SessionRow = { ...s, state: 'closed', closed_receipt_id: receipt.receipt_id, closed_at: receipt.created_at, updated_at: receipt.created_at };
      await tx.updateSession(closed);
      await w.reconcileSession(closed);
      return { statusCode: 201, body: { status: 'closed', session: sessionView(closed), receipt, reconciliation: w.reconciliation() } };
    });
  }

  /** The session and a page of its DAG: nodes in attach order, and the parent_id edges leaving them. */
  async dag(tenantId: string, sessionId: string, q: { cursor?: string | undefined; limit?: number | undefined }): Promise<Record<string, unknown>> {
    const reads = this.ledger.store.sessions;
    const s = await reads.session(tenantId, sessionId);
    if (!s) throw new QuittanceError('QUITTANCE_ERR_SESSION_NOT_FOUND', [sessionId]);
    const limit = this.pageSize(q.limit);
    const nodes = await reads.sessionNodes(tenantId, sessionId, { after_seq: decodeCursor(q.cursor), limit });
    const parentIds = Array.from(new Set(nodes.map((n) => n.parent_id).filter((p): p is string => p !== null)));
    const parents = new Map((await reads.sessionEvents(tenantId, parentIds)).map((e) => [e.event_id, e]));
    const edges = nodes
      .filter((n) => n.parent_id !== null)
      .map((n) => {
        const p = parents.get(n.parent_id!);
        return {
          event_id: n.event_id,
          parent_id: n.parent_id,
          receipt_id: n.node_receipt_id,
          parent_receipt_id: p?.node_receipt_id ?? null,
          parent_session_id: p?.node_session_id ?? null,
        };
      });
    return {
      session: sessionView(s),
      nodes: nodes.map(nodeView),
      edges,
      cursor: nextCursor(nodes, limit, (x) => x.node_seq!),
    };
  }

  /**
   * Takes events in one transaction, in order (a later event may name an earlier one as its parent); each is
   * answered on its own. Shape errors are found before the transaction; a coded refusal undoes only its event.
   */
  async ingest(tenantId: string, events: readonly EventInput[], by: Principal): Promise<EventItemResult[]> {
    const prepared = events.map((e) => {
      try {
        const keys = eventKeys(e);
        return { e, keys, fingerprint: eventFingerprint(e, keys), raw: rawEventDigest(e) };
      } catch (err) {
        if (isQuittanceError(err)) return err;
        throw err;
      }
    });
    return this.ledger.store.write(async (tx) => {
      const out: EventItemResult[] = [];
      for (const p of prepared) {
        if (p instanceof QuittanceError) {
          out.push({ ok: false, error: p });
          continue;
        }
        try {
          out.push({ ok: true, answer: await tx.atomically(() => this.ingestOne(tx, tenantId, p.e, p.keys, p.fingerprint, p.raw, by)) });
        } catch (err) {
          if (!isQuittanceError(err)) throw err;
          out.push({ ok: false, error: err });
        }
      }
      return out;
    });
  }

  private async ingestOne(
    tx: Tx, tenantId: string, e: EventInput, keys: ReturnType<typeof eventKeys>, fingerprint: string, raw: string, by: Principal,
  ): Promise<Answer> {
    const now = this.clock.now();
    const w = new SessionWrite(tx, tenantId, this.ledger, now);
    const existing = await tx.sessionEventById(tenantId, e.event_id);
    if (existing) {
      if (existing.node_receipt_id !== null) {
        if (existing.fingerprint !== fingerprint) {
          throw new QuittanceError('QUITTANCE_ERR_EVENT_ID_CONFLICT', [e.event_id, existing.node_receipt_id, existing.node_session_id], {
            details: { event_id: e.event_id, receipt_id: existing.node_receipt_id, session_id: existing.node_session_id },
          });
        }
        const receipt = await this.receiptById(tx, tenantId, existing.node_receipt_id);
        return { statusCode: 200, body: { status: 'duplicate', event_id: e.event_id, session_id: existing.node_session_id, receipt } };
      }
      const original = (await tx.orphanById(tenantId, existing.orphan_id!))!;
      const delivery = existing.deliveries + 1;
      await tx.updateSessionEvent({ ...existing, deliveries: delivery });
      const repeat: SessionEventRow = { ...this.eventRow(tenantId, e, keys, fingerprint, raw, now), deliveries: delivery };
      const d = await w.discardDuplicate(repeat, original, delivery);
      return {
        statusCode: 200,
        body: {
          status: 'discarded_duplicate', event_id: e.event_id, orphan: orphanView(d.orphan), receipt: d.receipt, queued_receipt: d.queued,
          duplicate_of: { orphan_id: original.orphan_id, state: original.state },
        },
      };
    }
    await assertNoParentLoop(tx, tenantId, e.event_id, keys.parent_id, this.config.eventDescendantsCheckedMax);
    const row = this.eventRow(tenantId, e, keys, fingerprint, raw, now);
    await tx.insertSessionEvent(row);
    const candidates = await w.candidatesFor(keys);
    if (candidates.length === 1) {
      const c = candidates[0]!;
      const session = (await tx.sessionById(tenantId, c.session_id))!;
      const receipt = await w.attachNode(row, session, by, c.matched);
      await w.cascadeFrom(row.event_id);
      return {
        statusCode: 201,
        body: { status: 'attached', event_id: e.event_id, session_id: session.session_id, matched: c.matched, receipt, reconciliation: w.reconciliation() },
      };
    }
    const { orphan, receipt } = await w.queue(row, candidates.map((c) => c.session_id), 1);
    await tx.updateSessionEvent({ ...row, orphan_id: orphan.orphan_id });
    return { statusCode: 202, body: { status: 'queued', event_id: e.event_id, orphan: orphanView(orphan), receipt } };
  }

  private eventRow(tenantId: string, e: EventInput, keys: ReturnType<typeof eventKeys>, fingerprint: string, raw: string, now: number): SessionEventRow {
    return {
      tenant_id: tenantId, event_id: e.event_id, event_class: e.event_class, ...keys, payload_digest: e.payload_digest ?? null,
      fingerprint, raw_digest: raw, observed_at: isoTime(now), deliveries: 1, orphan_id: null, node_session_id: null, node_receipt_id: null,
      node_seq: null, attached_at: null,
    };
  }

  async orphans(tenantId: string, q: { state?: OrphanState | undefined; cursor?: string | undefined; limit?: number | undefined }): Promise<Record<string, unknown>> {
    const limit = this.pageSize(q.limit);
    const rows = await this.ledger.store.sessions.orphans(tenantId, {
      ...(q.state !== undefined && { state: q.state }), after_seq: decodeCursor(q.cursor), limit,
    });
    return { orphans: rows.map(orphanView), cursor: nextCursor(rows, limit, (x) => x.seq) };
  }

  /**
   * Quarantines every queued orphan whose TTL has passed at `now`, across tenants, in batches. Safe to run on
   * several servers at once: each orphan is re-checked under lockQueuedOrphan inside the write, so it is
   * quarantined exactly once. Returns how many this call quarantined.
   */
  async sweepOrphans(now: number = this.clock.now()): Promise<number> {
    const batch = this.config.orphanSweepBatchMax;
    let total = 0;
    for (;;) {
      const due = inTenantOrder(await this.ledger.store.sessions.dueOrphans(now, batch));
      if (due.length === 0) return total;
      const page = await sweepWrite(this.ledger.store, async () => due, async (tx, d) => {
        const o = await tx.lockQueuedOrphan(d.tenant_id, d.orphan_id);
        if (!o || o.expires_at > now) return false;
        await new SessionWrite(tx, d.tenant_id, this.ledger, now).quarantine(o);
        return true;
      });
      total += page.done;
      // An orphan that could not be quarantined is still due: reading on would find it again. The next sweep retries it.
      if (page.failed.length > 0) throw sweepFailed('due orphans', page.failed, (d) => `${d.tenant_id}/${d.orphan_id}`);
      // A short page was the last; a page whose rows another server took (done = 0) is left to the next sweep.
      if (due.length < batch || page.done === 0) return total;
    }
  }

  private pageSize(limit: number | undefined): number {
    return Math.min(limit ?? this.config.pageSizeDefault, this.config.pageSizeMax);
  }
}
