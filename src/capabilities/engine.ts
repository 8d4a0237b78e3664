import { QuittanceError } from '../errors.js';
import { isoTime } from '../clock.js';
import { appendAnomaly } from '../ledger/append.js';
import { decodeCursor, nextCursor } from '../ledger/cursor.js';
import type { Ledger, Page } from '../ledger/ledger.js';
import { LEDGER_PRINCIPAL, type Receipt } from '../ledger/types.js';
import type { Tx } from '../store/types.js';
import { capabilityLedgerRecord } from './document.js';
import { effectiveState, negotiationPlanes } from './precedence.js';
import type { CapabilityEventKind, CapabilityEventRow, CapabilityRow, EffectiveState, Plane, PlaneReport, PlaneStatus } from './types.js';

export interface DeclareInput {
  capabilityRef: string;
  declaredBy: readonly Plane[];
  requiredPlanes: readonly Plane[];
  optionalPlanes?: readonly Plane[] | undefined;
  sessionRef?: string | null | undefined;
}

export interface PlaneReportInput {
  status: PlaneStatus;
  reason?: string | undefined;
  evidenceRefs: readonly string[];
  policyDecisionRef?: string | undefined;
}

export interface ObservationInput {
  plane: Plane;
  claimedState: EffectiveState;
}

/** A change of effective state, handed to listeners inside the transaction that made it. */
export interface StateChange {
  tenantId: string;
  /** The state before; undefined when the capability was just declared. */
  before: EffectiveState | undefined;
  capability: CapabilityRow;
  /** The capability.ledger receipt recording the new state. */
  receipt: Receipt;
}

/** Runs inside the write that changed the state; what it writes commits or rolls back with it. */
export type StateChangeListener = (tx: Tx, change: StateChange) => Promise<void>;

export interface ChangeResult {
  capability: CapabilityRow;
  /** The capability.ledger receipt appended, when the effective state (or the declaration) changed. */
  receipt?: Receipt;
  event?: CapabilityEventRow;
}

export interface ObservationResult {
  capability: CapabilityRow;
  splitBrain: boolean;
  anomaly?: Receipt;
  event: CapabilityEventRow;
}

/**
 * What one plane's report may add to a CapabilityLedger record, in UTF-8 bytes of JSON (a character JSON escapes
 * counts as its escape): its evidenceRefs and reason, as much as 16 refs of 256 ASCII characters and a reason of
 * 1024. A record carries every negotiating plane's evidence and, in its stateReason, their reasons, and must fit one
 * receipt body (64 KiB): 11 planes at this budget do (62 KB at most, with 4-byte characters in every other field).
 * Counted in characters only, reports of 4-byte characters were each accepted, and the next change of state, a
 * policy block too, was a 413: the capability stayed enabled and its automation sessions kept acting. Counted in
 * UTF-8 without the escapes, reports of control characters did the same.
 */
export const PLANE_REPORT_MAX_BYTES = 16 * 256 + 1024;

/** A capability row before its effective state (and the record of it) is computed. */
type Draft = Omit<CapabilityRow, 'effective_state' | 'state_reason' | 'record' | 'receipt_id'>;

const sortedSet = <T extends string>(xs: readonly T[] | undefined): T[] => [...new Set(xs ?? [])].sort();

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Cursor of the capability matrix: the last capability_ref a page returned. */
function encodeRefCursor(ref: string): string {
  return Buffer.from(`ref:${ref}`).toString('base64url');
}

function decodeRefCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('ref:')) throw new QuittanceError('QUITTANCE_ERR_INVALID_CURSOR');
  return text.slice(4);
}

/**
 * Capability negotiation (DESIGN §8). Declarations, plane reports and surface observations change one row per
 * capability inside a write transaction; whenever the effective state changes, a capability.ledger receipt
 * carrying a validated CapabilityLedger record is appended in the same transaction, so the row and the ledger
 * never disagree.
 */
export class CapabilityEngine {
  private readonly listeners: StateChangeListener[] = [];

  constructor(private readonly ledger: Ledger) {}

  /** Registers a listener for changes of effective state (automation ends sessions whose capability left enabled). */
  onStateChange(listener: StateChangeListener): void {
    this.listeners.push(listener);
  }

  /**
   * Declares (or re-declares) a capability. The first declaration and any re-declaration that changes it append a
   * record; repeating the same declaration changes nothing. Plane reports survive a re-declaration.
   */
  declare(tenantId: string, input: DeclareInput): Promise<ChangeResult & { created: boolean }> {
    const declaredBy = sortedSet(input.declaredBy);
    const requiredPlanes = sortedSet(input.requiredPlanes);
    const optionalPlanes = sortedSet(input.optionalPlanes).filter((p) => !requiredPlanes.includes(p));
    const sessionRef = input.sessionRef ?? null;
    return this.ledger.store.write(async (tx) => {
      const at = this.now();
      const existing = await tx.capabilityForUpdate(tenantId, input.capabilityRef);
      if (existing
        && sameList(existing.declared_by, declaredBy) && sameList(existing.required_planes, requiredPlanes)
        && sameList(existing.optional_planes, optionalPlanes) && existing.session_ref === sessionRef) {
        return { created: false, capability: existing };
      }
      const row: Draft = {
        tenant_id: tenantId,
        capability_ref: input.capabilityRef,
        declared_by: declaredBy,
        required_planes: requiredPlanes,
        optional_planes: optionalPlanes,
        session_ref: sessionRef,
        planes: existing?.planes ?? {},
        events: existing?.events ?? 0,
        declared_at: existing?.declared_at ?? at,
        updated_at: at,
      };
      const detail = { declaredBy, requiredPlanes, optionalPlanes, sessionRef };
      // A changed declaration always gets a fresh record, so the latest record names the planes in force.
      const result = await this.settle(tx, existing, row, 'declared', null, detail, true);
      if (existing) await tx.updateCapability(result.capability);
      else await tx.insertCapability(result.capability);
      return { created: existing === undefined, ...result };
    });
  }

  /** A plane reports its status. Appends a record when the effective state changes. */
  reportPlane(tenantId: string, capabilityRef: string, plane: Plane, input: PlaneReportInput): Promise<ChangeResult> {
    // Counted as the record holds them, in its JSON: a control character is 1 byte in UTF-8 but 6 escaped (\u0001),
    // and reports that fitted in UTF-8 made the record of the next change of state a 413 that refused that change.
    const bytes = [...input.evidenceRefs, input.reason ?? ''].reduce((n, x) => n + Buffer.byteLength(JSON.stringify(x), 'utf8') - 2, 0);
    if (bytes > PLANE_REPORT_MAX_BYTES) {
      return Promise.reject(new QuittanceError('QUITTANCE_ERR_VALIDATION', [
        `body/evidenceRefs and body/reason take ${bytes} bytes as UTF-8 JSON (escapes counted), over the ${PLANE_REPORT_MAX_BYTES} one plane report may take (every plane's evidence and reason go into one CapabilityLedger record)`,
      ]));
    }
    return this.ledger.store.write(async (tx) => {
      const existing = await this.mustExist(tx, tenantId, capabilityRef);
      const { required, optional } = negotiationPlanes(existing.required_planes, existing.optional_planes);
      if (plane !== 'policy' && !required.includes(plane) && !optional.includes(plane)) {
        throw new QuittanceError('QUITTANCE_ERR_PLANE_NOT_NEGOTIATED', [
          plane, capabilityRef, required.join(', ') || 'none', optional.join(', ') || 'none',
        ]);
      }
      if (plane === 'policy' && input.policyDecisionRef === undefined) {
        throw new QuittanceError('QUITTANCE_ERR_POLICY_DECISION_REQUIRED', [capabilityRef]);
      }
      const at = this.now();
      const report: PlaneReport = {
        status: input.status,
        reason: input.reason ?? null,
        evidenceRefs: sortedSet(input.evidenceRefs),
        policyDecisionRef: input.policyDecisionRef ?? null,
        reportedAt: at,
      };
      const row: Draft = { ...existing, planes: { ...existing.planes, [plane]: report }, updated_at: at };
      const detail = { status: report.status, reason: report.reason, evidenceRefs: report.evidenceRefs, policyDecisionRef: report.policyDecisionRef };
      const result = await this.settle(tx, existing, row, 'plane_report', plane, detail, false);
      await tx.updateCapability(result.capability);
      return result;
    });
  }

  /**
   * A surface (UI, config, shell, ...) reports what it shows. Recorded either way; a surface showing "enabled"
   * while the effective state is anything else is capability split-brain, and raises an anomaly naming both
   * sides. The same claim against the same record raises one anomaly, however often the surface repeats it.
   */
  observe(tenantId: string, capabilityRef: string, input: ObservationInput): Promise<ObservationResult> {
    return this.ledger.store.write(async (tx) => {
      const row = await this.mustExist(tx, tenantId, capabilityRef);
      const at = this.now();
      const splitBrain = input.claimedState === 'enabled' && row.effective_state !== 'enabled';
      let anomaly: Receipt | undefined;
      // The anomaly names the record, and says only what the record says: a plane re-reporting in other words
      // without changing the state moves the row's state_reason but not the record, and the same claim against
      // the same record must come out as the same receipt (appendAnomaly answers an identical one).
      if (splitBrain) {
        anomaly = await appendAnomaly(tx, this.ledger.ctx, tenantId, 'capability_split_brain', {
          parents: [row.receipt_id],
          body: {
            message: `The ${input.plane} surface shows ${capabilityRef} as enabled, but its effective state is ${row.effective_state}. Make the surface show the ledger's state.`,
            capability_ref: capabilityRef,
            surface: { plane: input.plane, claimed_state: input.claimedState },
            ledger: {
              effective_state: row.effective_state,
              state_reason: row.record.stateReason ?? row.state_reason,
              capability_ledger_ref: row.record.id,
              receipt_id: row.receipt_id,
            },
          },
        });
      }
      const event = this.event(row, 'observation', input.plane, { claimedState: input.claimedState, splitBrain }, row.effective_state, null, anomaly?.receipt_id ?? null, at);
      await tx.insertCapabilityEvent(event);
      const updated: CapabilityRow = { ...row, events: event.event_no };
      await tx.updateCapability(updated);
      return { capability: updated, splitBrain, ...(anomaly && { anomaly }), event };
    });
  }

  async get(tenantId: string, capabilityRef: string, page: { cursor?: string | undefined; limit?: number | undefined } = {}): Promise<{ capability: CapabilityRow; history: Page<CapabilityEventRow> }> {
    const capability = await this.ledger.store.capabilities.capability(tenantId, capabilityRef);
    if (!capability) throw new QuittanceError('QUITTANCE_ERR_CAPABILITY_NOT_FOUND', [capabilityRef]);
    const limit = this.pageSize(page.limit);
    const items = await this.ledger.store.capabilities.capabilityEvents(tenantId, capabilityRef, { after_no: decodeCursor(page.cursor), limit });
    return { capability, history: { items, cursor: nextCursor(items, limit, (x) => x.event_no) } };
  }

  /** The capability matrix: every capability of the tenant, by ref, optionally of one effective state. */
  async list(tenantId: string, q: { state?: EffectiveState | undefined; cursor?: string | undefined; limit?: number | undefined } = {}): Promise<Page<CapabilityRow>> {
    const limit = this.pageSize(q.limit);
    const after = decodeRefCursor(q.cursor);
    const items = await this.ledger.store.capabilities.listCapabilities(tenantId, {
      ...(q.state !== undefined && { state: q.state }),
      ...(after !== undefined && { after_ref: after }),
      limit,
    });
    return { items, cursor: items.length === limit ? encodeRefCursor(items[items.length - 1]!.capability_ref) : null };
  }

  private async mustExist(tx: Tx, tenantId: string, capabilityRef: string): Promise<CapabilityRow> {
    const row = await tx.capabilityForUpdate(tenantId, capabilityRef);
    if (!row) throw new QuittanceError('QUITTANCE_ERR_CAPABILITY_NOT_FOUND', [capabilityRef]);
    return row;
  }

  /**
   * Recomputes the effective state of `row`, records the event, and appends a record when the state changed (or
   * `forceRecord`). Every coded refusal happened before this point, so nothing here needs undoing on refusal.
   */
  private async settle(
    tx: Tx, before: CapabilityRow | undefined, row: Draft, kind: CapabilityEventKind, plane: Plane | null,
    detail: Record<string, unknown>, forceRecord: boolean,
  ): Promise<ChangeResult> {
    const outcome = effectiveState({
      requiredPlanes: row.required_planes,
      optionalPlanes: row.optional_planes,
      reports: row.planes,
      requested: row.session_ref !== null,
    });
    let receipt: Receipt | undefined;
    let next: CapabilityRow;
    if (before !== undefined && before.effective_state === outcome.state && !forceRecord) {
      next = { ...row, effective_state: outcome.state, state_reason: outcome.reason, record: before.record, receipt_id: before.receipt_id };
    } else {
      const { required, optional } = negotiationPlanes(row.required_planes, row.optional_planes);
      const record = capabilityLedgerRecord({
        localId: this.ledger.ctx.newId(),
        capabilityRef: row.capability_ref,
        sessionRef: row.session_ref,
        declaredBy: row.declared_by,
        negotiatedBy: [...new Set<Plane>([...required, ...optional, 'policy'])].sort(),
        planes: row.planes,
        outcome,
        previousId: before?.record.id,
        capturedAt: row.updated_at,
      });
      const appended = await this.ledger.appendInTx(tx, row.tenant_id, {
        type: 'capability.ledger',
        from: LEDGER_PRINCIPAL,
        to: LEDGER_PRINCIPAL,
        parents: before ? [before.receipt_id] : [],
        body: {
          document: record,
          trigger: { kind, ...(plane !== null && { plane }), ...(before && { previous_state: before.effective_state }) },
        },
      }, { writer: 'capabilities' });
      receipt = appended.receipt;
      next = { ...row, effective_state: outcome.state, state_reason: outcome.reason, record, receipt_id: receipt.receipt_id };
    }
    const event = this.event(next, kind, plane, detail, outcome.state, receipt?.receipt_id ?? null, null, row.updated_at);
    await tx.insertCapabilityEvent(event);
    next = { ...next, events: event.event_no };
    if (receipt && before?.effective_state !== outcome.state) {
      for (const listener of this.listeners) await listener(tx, { tenantId: row.tenant_id, before: before?.effective_state, capability: next, receipt });
    }
    return { capability: next, ...(receipt && { receipt }), event };
  }

  private event(
    row: Draft, kind: CapabilityEventKind, plane: Plane | null, detail: Record<string, unknown>,
    state: EffectiveState, receiptId: string | null, anomalyId: string | null, at: string,
  ): CapabilityEventRow {
    return {
      tenant_id: row.tenant_id,
      capability_ref: row.capability_ref,
      event_no: row.events + 1,
      kind,
      plane,
      detail,
      effective_state: state,
      receipt_id: receiptId,
      anomaly_receipt_id: anomalyId,
      at,
    };
  }

  private now(): string {
    return isoTime(this.ledger.clock.now());
  }

  private pageSize(limit: number | undefined): number {
    const c = this.ledger.config.obligations;
    return Math.min(limit ?? c.pageSizeDefault, c.pageSizeMax);
  }
}
