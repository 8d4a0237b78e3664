/**
 * The session rules that write, inside one transaction: attaching an event to its session's DAG, queueing an
 * orphan, reconciling queued orphans, recovering and quarantining them. One SessionWrite per unit of work (an
 * open, an update, a close, one event, one sweep item); it collects what reconciliation did for the answer.
 */
import { isoTime } from '../clock.js';
import { appendAnomaly } from '../ledger/append.js';
import type { Ledger } from '../ledger/ledger.js';
import { LEDGER_PRINCIPAL, type Principal, type Receipt, type ReceiptInput } from '../ledger/types.js';
import type { Tx } from '../store/types.js';
import { rankCandidates, type Candidate } from './candidates.js';
import { orphanDocument, type OrphanFacts, type OrphanResolution } from './document.js';
import { SESSION_KEYS, type EventKeys, type MatchKey, type OrphanKey, type OrphanRow, type SessionEventRow, type SessionRow } from './types.js';

export interface Recovery {
  event_id: string;
  orphan_id: string;
  session_id: string;
  node_receipt_id: string;
  recovered_receipt_id: string;
  matched: MatchKey[];
}

export interface StillQueued {
  event_id: string;
  orphan_id: string;
  candidates: string[];
}

/** What reconciliation did during one unit of work. */
export interface Reconciliation {
  recovered: Recovery[];
  /** Orphans it looked at that stay queued because several sessions fit them. */
  ambiguous: StillQueued[];
}

export function eventKeysOf(r: Pick<SessionEventRow, 'session_id' | 'parent_id' | 'conversation_id' | 'workspace_ref' | 'task_ref'>): EventKeys {
  return { session_id: r.session_id, parent_id: r.parent_id, conversation_id: r.conversation_id, workspace_ref: r.workspace_ref, task_ref: r.task_ref };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Most bytes of the session ids one orphan receipt lists, counted as the receipt's JSON holds them (UTF-8, with a
 * character JSON escapes counted as its escape: 6 bytes for a control character): 32 ids of 256 ASCII characters,
 * what sessions.orphanCandidatesListedMax lists by default. Listed twice (and in the anomaly of a quarantine), they
 * take about a quarter of a 64 KiB receipt body, whatever the characters and whatever the configured number.
 */
export const ORPHAN_CANDIDATES_LISTED_MAX_BYTES = 32 * 256;

export class SessionWrite {
  private readonly recovered: Recovery[] = [];
  private readonly ambiguous = new Map<string, StillQueued>();
  /** Orphans being settled further up the call stack: breaks parent cycles (A's parent is B, B's parent is A). */
  private readonly settling = new Set<string>();

  constructor(readonly tx: Tx, readonly tenantId: string, private readonly ledger: Ledger, readonly now: number) {}

  get ttlSeconds(): number {
    return this.ledger.config.sessions.orphanTtlSeconds;
  }

  /**
   * The candidates an orphan receipt lists, and how many there were when that is more. An event's keys may fit
   * any number of open sessions (every session of a busy workspace), and a receipt body has a size limit: with
   * all of them listed, the ledger refused its own orphan.queued (a well-formed event answered 413) and the sweep
   * failed on such an orphan's orphan.quarantined at every pass, so no orphan of its batch was quarantined. The
   * orphan's row keeps them all (GET /v1/orphans). Bounded in bytes as well as in number: 32 ids of 256 characters
   * of 4 bytes each (or of control characters, 6 bytes each escaped), listed twice (the candidates and the
   * document's refs), took the receipt over its limit just the same. The first candidate is always listed.
   */
  private listed(candidates: readonly string[]): { listed: string[]; total: { candidates_total?: number } } {
    const max = this.ledger.config.sessions.orphanCandidatesListedMax;
    let n = 0;
    let bytes = 0;
    for (const c of candidates) {
      bytes += Buffer.byteLength(JSON.stringify(c), 'utf8') - 2;
      if (n >= max || (n > 0 && bytes > ORPHAN_CANDIDATES_LISTED_MAX_BYTES)) break;
      n++;
    }
    if (n === candidates.length) return { listed: [...candidates], total: {} };
    return { listed: candidates.slice(0, n), total: { candidates_total: candidates.length } };
  }

  reconciliation(): Reconciliation {
    return { recovered: this.recovered.slice(), ambiguous: [...this.ambiguous.values()] };
  }

  async append(input: ReceiptInput): Promise<Receipt> {
    return (await this.ledger.appendInTx(this.tx, this.tenantId, input, { writer: 'sessions' })).receipt;
  }

  /**
   * The sessions an event may belong to. An event naming its session belongs to it alone (open or closed: it is
   * known); otherwise the open sessions sharing a key with it, ranked (see candidates.ts).
   */
  async candidatesFor(keys: EventKeys): Promise<Candidate[]> {
    if (keys.session_id !== null) {
      const named = await this.tx.sessionById(this.tenantId, keys.session_id);
      return named ? [{ session_id: named.session_id, matched: ['session_id'] }] : [];
    }
    const sessions: SessionRow[] = [];
    for (const k of SESSION_KEYS) {
      const v = keys[k];
      if (v !== null) sessions.push(...(await this.tx.openSessionsByKey(this.tenantId, k, v)));
    }
    let parentSession: string | null = null;
    if (keys.parent_id !== null) {
      const parent = await this.tx.sessionEventById(this.tenantId, keys.parent_id);
      if (parent?.node_session_id) {
        const s = await this.tx.sessionById(this.tenantId, parent.node_session_id);
        if (s?.state === 'open') {
          parentSession = s.session_id;
          sessions.push(s);
        }
      }
    }
    return rankCandidates(keys, sessions, parentSession);
  }

  /**
   * Makes the event a node of the session DAG: a session.event receipt whose parents are the parent event's node
   * (when the parent is already a node) or else the session.opened receipt, plus the orphan.queued receipt when
   * the event is being recovered. Does not reconcile its waiting children: see cascadeFrom.
   */
  async attachNode(event: SessionEventRow, session: SessionRow, from: Principal, matched: MatchKey[], orphan?: OrphanRow): Promise<Receipt> {
    const parent = event.parent_id === null ? undefined : await this.tx.sessionEventById(this.tenantId, event.parent_id);
    const parents = [parent?.node_receipt_id ?? session.opened_receipt_id, ...(orphan ? [orphan.queued_receipt_id] : [])];
    const correlation: Record<string, string> = {};
    for (const k of SESSION_KEYS) if (event[k] !== null) correlation[k] = event[k]!;
    const body: Record<string, unknown> = { event_id: event.event_id, event_class: event.event_class, matched };
    if (event.parent_id !== null) body['parent_id'] = event.parent_id;
    if (Object.keys(correlation).length > 0) body['correlation'] = correlation;
    if (event.payload_digest !== null) body['payload_digest'] = event.payload_digest;
    if (orphan) body['recovered_from'] = orphan.orphan_id;
    // An event may name a session that has already closed: it is recorded, and marked as late.
    if (session.state === 'closed') body['after_close'] = true;
    const node = await this.append({ type: 'session.event', from, to: session.owner, session_id: session.session_id, parents, body });
    await this.tx.updateSessionEvent({
      ...event, node_session_id: session.session_id, node_receipt_id: node.receipt_id, node_seq: node.seq, attached_at: node.created_at,
    });
    return node;
  }

  /** A new node may be the parent that queued orphans were waiting for: settle them now. */
  async cascadeFrom(eventId: string): Promise<void> {
    for (const child of await this.tx.queuedOrphansByKey(this.tenantId, 'parent_id', eventId, this.now)) await this.settle(child);
  }

  private facts(o: OrphanRow): OrphanFacts {
    return {
      orphan_id: o.orphan_id, event_id: o.event_id, event_class: o.event_class, keys: eventKeysOf(o), observed_at: o.observed_at,
      expires_at: o.expires_at, raw_digest: o.raw_digest, payload_digest: o.payload_digest, queued_receipt_id: o.queued_receipt_id,
      duplicate_of: o.duplicate_of,
    };
  }

  private document(o: OrphanRow, r: Omit<OrphanResolution, 'captured_at'>) {
    return orphanDocument(this.facts(o), { ...r, captured_at: this.now }, this.ttlSeconds);
  }

  /**
   * Puts an event whose session is unknown (or not yet decidable) into the orphan queue: an orphan.queued
   * obligation carrying the queued OrphanEventReceipt. `duplicateOf` marks a repeated delivery of an event_id,
   * which is queued only to be discarded at once (see discardDuplicate).
   */
  async queue(
    event: SessionEventRow, candidates: string[], delivery: number, duplicateOf?: OrphanRow,
  ): Promise<{ orphan: OrphanRow; receipt: Receipt }> {
    const orphanId = this.ledger.ctx.newId();
    const facts: OrphanFacts = {
      orphan_id: orphanId, event_id: event.event_id, event_class: event.event_class, keys: eventKeysOf(event),
      observed_at: isoTime(this.now), expires_at: duplicateOf?.expires_at ?? this.now + this.ttlSeconds * 1000,
      raw_digest: event.raw_digest, payload_digest: event.payload_digest, queued_receipt_id: null, duplicate_of: duplicateOf?.orphan_id ?? null,
    };
    const shown = this.listed(candidates);
    const document = orphanDocument(facts, { state: 'queued', candidates: shown.listed, captured_at: this.now }, this.ttlSeconds);
    const body: Record<string, unknown> = { event_id: event.event_id, orphan_id: orphanId, delivery, candidates: shown.listed, ...shown.total, document };
    if (duplicateOf) body['duplicate_of'] = duplicateOf.orphan_id;
    const receipt = await this.append({
      type: 'orphan.queued', from: LEDGER_PRINCIPAL, to: LEDGER_PRINCIPAL, parents: [],
      ...(event.session_id !== null && { session_id: event.session_id }), body,
    });
    const orphan: OrphanRow = {
      tenant_id: this.tenantId, orphan_id: orphanId, seq: receipt.seq, queued_receipt_id: receipt.receipt_id, event_id: event.event_id,
      event_class: event.event_class, session_id: event.session_id, parent_id: event.parent_id, conversation_id: event.conversation_id,
      workspace_ref: event.workspace_ref, task_ref: event.task_ref, payload_digest: event.payload_digest, raw_digest: event.raw_digest,
      state: 'queued', candidates, observed_at: facts.observed_at, expires_at: facts.expires_at, resolved_at: null, resolution_receipt_id: null,
      node_receipt_id: null, recovered_session_id: null, duplicate_of: facts.duplicate_of, document,
    };
    await this.tx.insertOrphan(orphan);
    if (candidates.length > 1 && !duplicateOf) this.ambiguous.set(orphanId, { event_id: event.event_id, orphan_id: orphanId, candidates });
    return { orphan, receipt };
  }

  /**
   * A repeated delivery of an event_id whose first delivery is not a DAG node (it is queued or quarantined):
   * the repeat is recorded as its own orphan, closed at once by orphan.discarded_duplicate. The first delivery
   * is untouched and keeps its own course.
   */
  async discardDuplicate(repeat: SessionEventRow, original: OrphanRow, delivery: number): Promise<{ orphan: OrphanRow; queued: Receipt; receipt: Receipt }> {
    const { orphan, receipt: queued } = await this.queue(repeat, original.candidates, delivery, original);
    const document = this.document(orphan, { state: 'discarded_duplicate', candidates: this.listed(original.candidates).listed });
    const receipt = await this.append({
      type: 'orphan.discarded_duplicate', from: LEDGER_PRINCIPAL, to: LEDGER_PRINCIPAL, parents: [queued.receipt_id],
      ...(repeat.session_id !== null && { session_id: repeat.session_id }),
      body: { event_id: repeat.event_id, orphan_id: orphan.orphan_id, duplicate_of: original.orphan_id, original_state: original.state, document },
    });
    const done: OrphanRow = { ...orphan, state: 'discarded_duplicate', resolved_at: receipt.created_at, resolution_receipt_id: receipt.receipt_id, document };
    await this.tx.updateOrphan(done);
    return { orphan: done, queued, receipt };
  }

  /** Reconciles the queued orphans that carry any of the session's keys (after it opened, changed or closed). */
  async reconcileSession(session: SessionRow): Promise<void> {
    const lookups: [OrphanKey, string | null][] = [['session_id', session.session_id], ...SESSION_KEYS.map((k) => [k, session[k]] as [OrphanKey, string | null])];
    const found = new Map<string, OrphanRow>();
    for (const [key, value] of lookups) {
      if (value === null) continue;
      for (const o of await this.tx.queuedOrphansByKey(this.tenantId, key, value, this.now)) found.set(o.orphan_id, o);
    }
    for (const o of [...found.values()].sort((a, b) => a.seq - b.seq)) await this.settle(o);
  }

  /**
   * Decides one queued orphan again: exactly one candidate → recovered; otherwise it stays queued with its
   * candidates brought up to date. An orphan whose parent event is itself a queued orphan settles that parent
   * first, so that a recovered child links to its parent's node.
   */
  async settle(o: OrphanRow): Promise<void> {
    if (this.settling.has(o.orphan_id)) return;
    this.settling.add(o.orphan_id);
    try {
      const current = await this.tx.lockQueuedOrphan(this.tenantId, o.orphan_id);
      // Gone (resolved meanwhile) or past its TTL: a passed TTL means quarantine, which the sweep writes.
      if (!current || current.expires_at <= this.now) return;
      if (current.parent_id !== null) {
        const parent = await this.tx.sessionEventById(this.tenantId, current.parent_id);
        if (parent && parent.node_receipt_id === null && parent.orphan_id !== null) {
          const parentOrphan = await this.tx.orphanById(this.tenantId, parent.orphan_id);
          if (parentOrphan?.state === 'queued') await this.settle(parentOrphan);
        }
      }
      const again = await this.tx.lockQueuedOrphan(this.tenantId, o.orphan_id);
      if (!again) return;
      const candidates = await this.candidatesFor(eventKeysOf(again));
      if (candidates.length === 1) return await this.recover(again, candidates[0]!);
      const ids = candidates.map((c) => c.session_id);
      if (!sameList(ids, again.candidates)) await this.tx.updateOrphan({ ...again, candidates: ids });
      if (ids.length > 1) this.ambiguous.set(again.orphan_id, { event_id: again.event_id, orphan_id: again.orphan_id, candidates: ids });
      else this.ambiguous.delete(again.orphan_id);
    } finally {
      this.settling.delete(o.orphan_id);
    }
  }

  /** Attaches the orphan's event to its one candidate session and closes orphan.queued with orphan.recovered. */
  private async recover(o: OrphanRow, c: Candidate): Promise<void> {
    const session = (await this.tx.sessionById(this.tenantId, c.session_id))!;
    const event = (await this.tx.sessionEventById(this.tenantId, o.event_id))!;
    const node = await this.attachNode(event, session, LEDGER_PRINCIPAL, c.matched, o);
    const document = this.document(o, { state: 'recovered', candidates: [session.session_id], recovered: { session_id: session.session_id, node_receipt_id: node.receipt_id } });
    const receipt = await this.append({
      type: 'orphan.recovered', from: LEDGER_PRINCIPAL, to: LEDGER_PRINCIPAL, session_id: session.session_id, parents: [o.queued_receipt_id],
      body: { event_id: o.event_id, orphan_id: o.orphan_id, node_receipt_id: node.receipt_id, matched: c.matched, document },
    });
    await this.tx.updateOrphan({
      ...o, state: 'recovered', candidates: [session.session_id], resolved_at: receipt.created_at, resolution_receipt_id: receipt.receipt_id,
      node_receipt_id: node.receipt_id, recovered_session_id: session.session_id, document,
    });
    this.ambiguous.delete(o.orphan_id);
    this.recovered.push({
      event_id: o.event_id, orphan_id: o.orphan_id, session_id: session.session_id, node_receipt_id: node.receipt_id,
      recovered_receipt_id: receipt.receipt_id, matched: c.matched,
    });
    await this.cascadeFrom(o.event_id);
  }

  /**
   * TTL passed unreconciled: orphan.quarantined carrying the quarantined OrphanEventReceipt (its candidates are
   * the evidence of why nothing was decided), and an orphan_quarantined anomaly for someone to look at.
   */
  async quarantine(o: OrphanRow): Promise<{ receipt: Receipt; anomaly: Receipt }> {
    const shown = this.listed(o.candidates);
    const document = this.document(o, { state: 'quarantined', candidates: shown.listed });
    const sessionId = o.session_id === null ? {} : { session_id: o.session_id };
    const receipt = await this.append({
      type: 'orphan.quarantined', from: LEDGER_PRINCIPAL, to: LEDGER_PRINCIPAL, parents: [o.queued_receipt_id], ...sessionId,
      body: { event_id: o.event_id, orphan_id: o.orphan_id, candidates: shown.listed, ...shown.total, document },
    });
    const anomaly = await appendAnomaly(this.tx, this.ledger.ctx, this.tenantId, 'orphan_quarantined', {
      parents: [receipt.receipt_id],
      ...sessionId,
      body: {
        orphan_id: o.orphan_id, event_id: o.event_id, event_class: o.event_class, candidates: shown.listed, ...shown.total, expires_at: isoTime(o.expires_at),
        message: o.candidates.length > 1
          ? `Event ${o.event_id} fitted ${o.candidates.length} sessions and none was chosen before its TTL passed; it was quarantined.`
          : `Event ${o.event_id} never found its session before its TTL passed; it was quarantined.`,
      },
    });
    await this.tx.updateOrphan({ ...o, state: 'quarantined', resolved_at: receipt.created_at, resolution_receipt_id: receipt.receipt_id, document });
    return { receipt, anomaly };
  }
}
