import { QuittanceError } from '../errors.js';
import { isoTime } from '../clock.js';
import { appendAnomaly } from '../ledger/append.js';
import { decodeCursor, nextCursor } from '../ledger/cursor.js';
import type { Ledger, Page } from '../ledger/ledger.js';
import { LEDGER_PRINCIPAL, type Principal, type Receipt, type ReceiptInput } from '../ledger/types.js';
import type { Tx } from '../store/types.js';
import type { CapabilityEngine, StateChange } from '../capabilities/engine.js';
import { browserAutomationReceipt, endedReceipt } from './document.js';
import type { AutomationSessionRow, ControlledScope, DenialReason, Origin, TerminalState, Transport } from './types.js';
import { atMostCharacters } from '../text.js';

export interface StartInput {
  sessionRef: string;
  ownerRef: string;
  capabilityRef: string;
  transport: Transport;
  permissionScope: readonly string[];
  origin: Origin;
  controlledScope?: Partial<ControlledScope> | null | undefined;
  /** A session-level policy decision to cite; otherwise the capability's policy decision is cited. */
  policyDecisionRef?: string | undefined;
  evidenceRefs?: readonly string[] | undefined;
}

export type StartResult =
  | { status: 'started' | 'existing'; session: AutomationSessionRow; receipt: Receipt }
  | { status: 'denied'; session: AutomationSessionRow; receipt: Receipt; reason: string };

export type ActionResult =
  | { outcome: 'executed'; session: AutomationSessionRow; receipt: Receipt }
  | { outcome: 'denied'; reason: DenialReason; session: AutomationSessionRow; receipt: Receipt; anomaly?: Receipt };

export interface EndResult {
  status: 'ended' | 'duplicate';
  session: AutomationSessionRow;
  receipt: Receipt;
}

/** Who ended a session: the user revoking it, its owner finishing it, or the gate when its capability left enabled. */
export type EndedBy = 'user' | 'owner' | 'gate';

const WRITER = { writer: 'automation' } as const;

/**
 * How much of the capability's stateReason the gate's automation.ended quotes, in characters: as much as a user's
 * revocation reason. The whole reason (every refusing or degraded plane's, up to ~45 KB) sits in the capability
 * record the receipt names (capability_receipt_id); quoted in full next to the session's document it could take the
 * receipt over the 64 KiB body, and that 413 failed the change of state itself: the capability stayed enabled.
 */
const GATE_REASON_MAX_CHARS = 1024;

/** The owner, as a ledger principal: the agent or plugin that drives the browser. */
function ownerPrincipal(ownerRef: string): Principal {
  return { kind: 'agent', id: ownerRef };
}

function scopeOf(input: StartInput['controlledScope']): ControlledScope | null {
  if (input === undefined || input === null) return null;
  return { windowRef: input.windowRef ?? null, tabRef: input.tabRef ?? null, urlOrigin: input.urlOrigin ?? null, workspaceRef: input.workspaceRef ?? null };
}

/**
 * Is `input` (permissionScope and evidenceRefs already sorted sets) the start that made `row`? A policyDecisionRef
 * left out cited the capability's decision, which may have changed since: only one that is given must match.
 */
function sameStart(row: AutomationSessionRow, input: StartInput, scope: ControlledScope | null): boolean {
  const d = row.document;
  return row.capability_ref === input.capabilityRef && d.transport === input.transport && d.origin === input.origin
    && JSON.stringify(d.permissionScope) === JSON.stringify(input.permissionScope)
    && JSON.stringify(d.controlledScope ?? null) === JSON.stringify(scope)
    && (input.policyDecisionRef === undefined || input.policyDecisionRef === d.policyDecisionRef)
    && JSON.stringify(d.evidenceRefs) === JSON.stringify(input.evidenceRefs ?? []);
}

/**
 * Browser automation sessions (DESIGN §8). Every decision (start, action, revoke, end) reads the session's stored
 * row inside the write transaction that records it, never a cache: writes are serialised per database (SQLite's
 * one writer; PostgreSQL's row lock from automationSessionForUpdate), so a revocation takes effect for the very
 * next action, on this server or any other on the same database.
 */
export class AutomationEngine {
  constructor(private readonly ledger: Ledger, capabilities: CapabilityEngine) {
    capabilities.onStateChange((tx, change) => this.capabilityChanged(tx, change));
  }

  /**
   * Starts a session when its capability is enabled (which includes the policy plane's allowing it): an
   * automation.started obligation carrying the BrowserAutomationReceipt, open until the session ends. Otherwise a
   * denied start: the receipt with terminalState denied rides on an automation.action event (action "start",
   * outcome denied), which opens no obligation. Repeating a start that was allowed answers the existing session.
   */
  start(tenantId: string, input: StartInput): Promise<StartResult> {
    const scope = scopeOf(input.controlledScope);
    const permissionScope = [...new Set(input.permissionScope)].sort();
    const evidenceRefs = [...new Set(input.evidenceRefs ?? [])].sort();
    const req: StartInput = { ...input, permissionScope, evidenceRefs };
    return this.ledger.store.write(async (tx): Promise<StartResult> => {
      const capability = await tx.capabilityForUpdate(tenantId, input.capabilityRef);
      if (!capability) throw new QuittanceError('QUITTANCE_ERR_CAPABILITY_NOT_FOUND', [input.capabilityRef]);
      const prior = await tx.automationSessionsByRef(tenantId, input.sessionRef);
      const otherOwner = prior.find((s) => s.owner_ref !== input.ownerRef);
      if (otherOwner) throw new QuittanceError('QUITTANCE_ERR_AUTOMATION_SESSION_OWNER', [input.sessionRef, otherOwner.owner_ref, input.ownerRef]);
      const live = prior.find((s) => s.state !== 'denied');
      if (live) {
        // A retry of the same start answers the session; anything else under the same sessionRef is refused.
        if (live.state !== 'active' || !sameStart(live, req, scope)) throw new QuittanceError('QUITTANCE_ERR_AUTOMATION_SESSION_EXISTS', [input.sessionRef, live.automation_id, live.state], { details: { automation_id: live.automation_id } });
        const [receipt] = await tx.receiptsByIds(tenantId, [live.start_receipt_id]);
        return { status: 'existing', session: live, receipt: receipt! };
      }

      const allowed = capability.effective_state === 'enabled';
      const at = this.now();
      const automationId = this.ledger.ctx.newId();
      const document = browserAutomationReceipt({
        localId: automationId,
        sessionRef: input.sessionRef,
        capabilityLedgerRef: capability.record.id,
        ownerRef: input.ownerRef,
        transport: input.transport,
        permissionScope,
        origin: input.origin,
        controlledScope: scope,
        terminalState: allowed ? 'active' : 'denied',
        policyDecisionRef: input.policyDecisionRef ?? capability.planes.policy?.policyDecisionRef ?? capability.record.policyDecisionRef,
        evidenceRefs,
        causalRefs: [capability.record.id],
        startedAt: at,
      });
      const owner = ownerPrincipal(input.ownerRef);
      const reason = `capability ${input.capabilityRef} is ${capability.effective_state}, not enabled (${capability.state_reason})`;
      const receiptInput: ReceiptInput = allowed
        ? { type: 'automation.started', from: LEDGER_PRINCIPAL, to: owner, parents: [capability.receipt_id], body: { automation_id: automationId, document } }
        : {
          type: 'automation.action', from: owner, to: LEDGER_PRINCIPAL, parents: [capability.receipt_id],
          body: { automation_id: automationId, action: 'start', outcome: 'denied', reason: 'capability_not_enabled', effective_state: capability.effective_state, document },
        };
      const { receipt } = await this.ledger.appendInTx(tx, tenantId, receiptInput, WRITER);
      const session: AutomationSessionRow = {
        tenant_id: tenantId,
        automation_id: automationId,
        session_ref: input.sessionRef,
        owner_ref: input.ownerRef,
        capability_ref: input.capabilityRef,
        state: document.terminalState,
        permission_scope: permissionScope,
        document,
        start_receipt_id: receipt.receipt_id,
        start_seq: receipt.seq,
        end_receipt_id: null,
        actions_executed: 0,
        actions_denied: 0,
        started_at: at,
        ended_at: null,
      };
      await tx.insertAutomationSession(session);
      return allowed ? { status: 'started', session, receipt } : { status: 'denied', session, receipt, reason };
    });
  }

  /**
   * Records one action: executed when the session is active and the action is in its permissionScope, denied
   * otherwise. An action after revocation is also an action_after_revocation anomaly. Every attempt is a receipt,
   * numbered within its session, so a trace shows "denied" where there would otherwise be silence.
   */
  act(tenantId: string, automationId: string, action: string): Promise<ActionResult> {
    return this.ledger.store.write(async (tx): Promise<ActionResult> => {
      const s = await this.mustExist(tx, tenantId, automationId);
      const n = s.actions_executed + s.actions_denied + 1;
      const owner = ownerPrincipal(s.owner_ref);
      const executed = s.state === 'active' && s.permission_scope.includes(action);
      if (executed) {
        const { receipt } = await this.ledger.appendInTx(tx, tenantId, {
          type: 'automation.action', from: owner, to: LEDGER_PRINCIPAL, parents: [s.start_receipt_id],
          body: { automation_id: automationId, action, outcome: 'executed', n },
        }, WRITER);
        await tx.countAutomationAction(tenantId, automationId, 'executed');
        return { outcome: 'executed', session: { ...s, actions_executed: s.actions_executed + 1 }, receipt };
      }
      const reason: DenialReason = s.state === 'active' ? 'out_of_scope' : s.state === 'revoked' ? 'revoked' : 'not_active';
      const parents = s.end_receipt_id ? [s.start_receipt_id, s.end_receipt_id] : [s.start_receipt_id];
      const { receipt } = await this.ledger.appendInTx(tx, tenantId, {
        type: 'automation.action', from: owner, to: LEDGER_PRINCIPAL, parents,
        body: {
          automation_id: automationId, action, outcome: 'denied', reason, n, session_state: s.state,
          ...(reason === 'out_of_scope' && { permission_scope: s.permission_scope }),
        },
      }, WRITER);
      await tx.countAutomationAction(tenantId, automationId, 'denied');
      let anomaly: Receipt | undefined;
      if (reason === 'revoked') {
        anomaly = await appendAnomaly(tx, this.ledger.ctx, tenantId, 'action_after_revocation', {
          to: owner,
          parents: [receipt.receipt_id, s.end_receipt_id!],
          body: {
            message: `${s.owner_ref} attempted ${action} in automation session ${s.session_ref} after it was revoked at ${s.document.revokedAt}. It was denied; find out why the owner kept acting.`,
            automation_id: automationId,
            session_ref: s.session_ref,
            owner_ref: s.owner_ref,
            action,
            revoked_at: s.document.revokedAt,
            action_receipt_id: receipt.receipt_id,
            revocation_receipt_id: s.end_receipt_id,
          },
        });
      }
      return { outcome: 'denied', reason, session: { ...s, actions_denied: s.actions_denied + 1 }, receipt, ...(anomaly && { anomaly }) };
    });
  }

  /** The user revokes a session: terminalState revoked, revokedAt, and automation.ended closes the obligation. */
  revoke(tenantId: string, automationId: string, opts: { revokedBy?: string | undefined; reason?: string | undefined } = {}): Promise<EndResult> {
    return this.ledger.store.write((tx) => this.end(tx, tenantId, automationId, 'revoked', 'user', opts.reason, { kind: 'human', id: opts.revokedBy ?? 'user' }));
  }

  /** The owner finishes a session: completed or failed. */
  finish(tenantId: string, automationId: string, state: 'completed' | 'failed', reason?: string): Promise<EndResult> {
    return this.ledger.store.write((tx) => this.end(tx, tenantId, automationId, state, 'owner', reason));
  }

  async get(tenantId: string, automationId: string): Promise<AutomationSessionRow> {
    const s = await this.ledger.store.automation.automationSession(tenantId, automationId);
    if (!s) throw new QuittanceError('QUITTANCE_ERR_AUTOMATION_SESSION_NOT_FOUND', [automationId]);
    return s;
  }

  /** Sessions oldest first; state=active is what the user sees and may revoke. */
  async list(tenantId: string, q: { state?: TerminalState | undefined; cursor?: string | undefined; limit?: number | undefined } = {}): Promise<Page<AutomationSessionRow>> {
    const c = this.ledger.config.obligations;
    const limit = Math.min(q.limit ?? c.pageSizeDefault, c.pageSizeMax);
    const items = await this.ledger.store.automation.listAutomationSessions(tenantId, {
      ...(q.state !== undefined && { state: q.state }),
      after_seq: decodeCursor(q.cursor),
      limit,
    });
    return { items, cursor: nextCursor(items, limit, (x) => x.start_seq) };
  }

  private async end(
    tx: Tx, tenantId: string, automationId: string, state: 'revoked' | 'completed' | 'failed', by: EndedBy,
    reason: string | undefined, from?: Principal, extra: Record<string, unknown> = {},
  ): Promise<EndResult> {
    const s = await this.mustExist(tx, tenantId, automationId);
    if (s.state === state && s.end_receipt_id !== null) {
      const [receipt] = await tx.receiptsByIds(tenantId, [s.end_receipt_id]);
      return { status: 'duplicate', session: s, receipt: receipt! };
    }
    if (s.state !== 'active') throw new QuittanceError('QUITTANCE_ERR_AUTOMATION_NOT_ACTIVE', [automationId, s.state], { details: { terminal_state: s.state } });
    const at = this.now();
    const document = endedReceipt(s.document, state, at);
    const { receipt } = await this.ledger.appendInTx(tx, tenantId, {
      type: 'automation.ended', from: from ?? ownerPrincipal(s.owner_ref), to: ownerPrincipal(s.owner_ref), parents: [s.start_receipt_id],
      body: { automation_id: automationId, ended_by: by, ...(reason !== undefined && { reason }), ...extra, document },
    }, WRITER);
    const session: AutomationSessionRow = { ...s, state, document, end_receipt_id: receipt.receipt_id, ended_at: at };
    await tx.updateAutomationSession(session);
    return { status: 'ended', session, receipt };
  }

  /** A session lives only while its capability is enabled: when the capability leaves enabled, the gate revokes it. */
  private async capabilityChanged(tx: Tx, change: StateChange): Promise<void> {
    if (change.before !== 'enabled' || change.capability.effective_state === 'enabled') return;
    const sessions = await tx.activeAutomationSessionsForCapability(change.tenantId, change.capability.capability_ref);
    const reason = `capability ${change.capability.capability_ref} is now ${change.capability.effective_state} (${atMostCharacters(change.capability.state_reason, GATE_REASON_MAX_CHARS)})`;
    for (const s of sessions) {
      await this.end(tx, change.tenantId, s.automation_id, 'revoked', 'gate', reason, LEDGER_PRINCIPAL, { capability_receipt_id: change.receipt.receipt_id });
    }
  }

  private async mustExist(tx: Tx, tenantId: string, automationId: string): Promise<AutomationSessionRow> {
    const s = await tx.automationSessionForUpdate(tenantId, automationId);
    if (!s) throw new QuittanceError('QUITTANCE_ERR_AUTOMATION_SESSION_NOT_FOUND', [automationId]);
    return s;
  }

  private now(): string {
    return isoTime(this.ledger.clock.now());
  }
}
