import { Http, isRefusal, type HttpOptions } from './http.js';
import type { Principal, Receipt, ReceiptInput, Artifact, DeliveryProof } from '../ledger/types.js';
import type { Grant, LeaseRenewal, TaskCreateInput } from '../tasks/types.js';
import type { StampView } from '../stamps/types.js';
import type { Investigation } from '../stamps/stamps.js';
import type { EventAnswer, EventBatchItem, EventInput, OrphanState, OrphanView, SessionAnswer, SessionDag, SessionOpenInput } from './sessions.js';
import type {
  AutomationAnswer, AutomationEndAnswer, AutomationSessionView, CapabilityAnswer, CapabilityEventView, CapabilityMatrixRow, CapabilityView,
  DeclareCapability, EffectiveState, ObservationAnswer, Plane, PlaneReport, StartAutomation, TerminalState,
} from './capabilities.js';

export interface AppendAnswer {
  status: 'created' | 'duplicate' | 'not_discharged';
  receipt: Receipt;
  code?: 'LOCATABILITY_MISSING';
  anomaly?: Receipt;
}

export interface TaskView {
  task_id: string;
  type: string;
  status: 'queued' | 'leased' | 'running' | 'succeeded' | 'failed' | 'canceled' | 'escalated';
  attempt: number;
  max_attempts: number;
  lease_expiries: number;
  claims: number;
  payload: Record<string, unknown> | null;
  outcome: Record<string, unknown> | null;
  [field: string]: unknown;
}

/** One task handed to a worker by a claim: the server's own type. */
export type LeaseGrant = Grant;

/** The answer to a renewal: what is left of the lease's renewals and lifetime. */
export type { LeaseRenewal };

/** What creating a task takes: the server's own request type. */
export type CreateTask = TaskCreateInput;

export interface LeaseProof {
  lease_id: string;
  lease_token: string;
}

export interface Completion {
  artifacts?: Artifact[];
  delivery_proof?: DeliveryProof;
  result_summary?: string;
}

const FINAL = new Set(['succeeded', 'failed', 'canceled', 'escalated']);
/**
 * The query string of `params`, leaving out what is undefined or null: a page's `cursor` is null after the last page,
 * so a paging loop may pass back whatever the previous answer carried, starting from null.
 */
const q = (params: Record<string, string | number | null | undefined>) => {
  const s = Object.entries(params).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
  return s ? `?${s}` : '';
};
const enc = encodeURIComponent;
/**
 * Only the proof's two fields go on the wire. A LeaseGrant is a LeaseProof to TypeScript, so `client.start(g.task_id, g)`
 * compiles, but its other fields (type, payload, attempt, ...) made every lease-bound write a 400 (additional properties).
 */
const proofOf = (p: LeaseProof): LeaseProof => ({ lease_id: p.lease_id, lease_token: p.lease_token });

/** The client for agents and tools: receipts, obligations, tasks. Every method maps to one HTTP call. */
export class QuittanceClient {
  readonly http: Http;
  constructor(options: HttpOptions) {
    this.http = new Http(options);
  }

  // ── receipts and obligations ──
  async append(input: ReceiptInput): Promise<AppendAnswer> {
    return (await this.http.call<AppendAnswer>('POST', '/v1/receipts', input)).body;
  }
  async appendBatch(receipts: ReceiptInput[]): Promise<{ results: (AppendAnswer & { statusCode: number; error?: { code: string; message: string } })[] }> {
    return (await this.http.call('POST', '/v1/receipts/batch', { receipts })).body as never;
  }
  async receipt(id: string): Promise<Receipt> {
    return (await this.http.call<{ receipt: Receipt }>('GET', `/v1/receipts/${enc(id)}`)).body.receipt;
  }
  async receipts(filter: { type?: string; task_id?: string; principal_kind?: string; principal_id?: string; since?: string; cursor?: string | null; limit?: number } = {}) {
    return (await this.http.call<{ receipts: Receipt[]; cursor: string | null }>('GET', `/v1/receipts${q(filter)}`)).body;
  }
  /**
   * Acknowledges a receipt (a receipt.acknowledged). `from` is who acknowledges (the API key when not given), `body`
   * what the acknowledgement says (the route takes both; only `from` reached it before).
   */
  async ack(id: string, from?: Principal, body?: Record<string, unknown>): Promise<AppendAnswer> {
    return (await this.http.call<AppendAnswer>('POST', `/v1/receipts/${enc(id)}/ack`, { ...(from && { from }), ...(body && { body }) })).body;
  }
  async openObligations(filter: { principal_kind?: string; principal_id?: string; cursor?: string | null; limit?: number } = {}) {
    return (await this.http.call<{ open_obligations: Receipt[]; cursor: string | null }>('GET', `/v1/obligations/open${q(filter)}`)).body;
  }
  async checkTerminator(parentReceiptId: string, terminatorType?: string) {
    return (await this.http.call<{ open: boolean; legal_terminators: string[]; closed_by: string | null; would_close?: boolean }>(
      'POST', '/v1/obligations/check-terminator', { parent_receipt_id: parentReceiptId, ...(terminatorType && { terminator_type: terminatorType }) },
    )).body;
  }
  async anomalies(filter: { kind?: string; cursor?: string | null; limit?: number } = {}) {
    return (await this.http.call<{ anomalies: Receipt[]; cursor: string | null }>('GET', `/v1/anomalies${q(filter)}`)).body;
  }
  async verify() {
    return (await this.http.call<{ ok: boolean; receipts: number; first_bad_seq?: number }>('GET', '/v1/ledger/verify')).body;
  }

  // ── tasks ──
  async createTask(input: CreateTask): Promise<{ status: 'created' | 'duplicate'; task: TaskView; receipt: Receipt }> {
    return (await this.http.call('POST', '/v1/tasks', input)).body as never;
  }
  async createTasks(tasks: CreateTask[]): Promise<{ results: { statusCode: number; status?: 'created' | 'duplicate'; task?: TaskView; error?: { code: string; message: string } }[] }> {
    return (await this.http.call('POST', '/v1/tasks/batch', { tasks })).body as never;
  }
  /** The task and a page of its receipts (1000 by default): `cursor` asks for the next page. */
  async task(id: string, page: { cursor?: string | null; limit?: number } = {}): Promise<{ task: TaskView; receipts: Receipt[]; cursor: string | null }> {
    return (await this.http.call('GET', `/v1/tasks/${enc(id)}${q(page)}`)).body as never;
  }
  async tasks(filter: { status?: string; type?: string; cursor?: string | null; limit?: number } = {}) {
    return (await this.http.call<{ tasks: TaskView[]; cursor: string | null }>('GET', `/v1/tasks${q(filter)}`)).body;
  }
  async cancelTask(id: string, reason?: string): Promise<AppendAnswer> {
    return (await this.http.call<AppendAnswer>('POST', `/v1/tasks/${enc(id)}/cancel`, reason ? { reason } : {})).body;
  }
  /**
   * Polls until the task reaches a final status (succeeded, failed, canceled, escalated). A poll that gets no answer,
   * a 5xx, 408 or 429 is tried again until the timeout (the last such error is then thrown); a refusal (a 404, say)
   * is thrown at once.
   */
  async waitForTask(id: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<TaskView> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      let status: string;
      try {
        const { task } = await this.task(id);
        if (FINAL.has(task.status)) return task;
        status = task.status;
      } catch (e) {
        if (isRefusal(e) || Date.now() > deadline) throw e;
        status = 'unknown';
      }
      if (Date.now() > deadline) throw new Error(`task ${id} still ${status} after ${options.timeoutMs ?? 60_000} ms`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    }
  }

  // ── leases (what workers use) ──
  /**
   * Claims tasks. With a claim_id (fresh per claim), the same call sent again because its answer was lost answers
   * the leases it granted, with new lease tokens, instead of leaving them to run out.
   */
  async claim(input: { worker_id: string; capabilities?: string[]; accept_types?: string[]; max_tasks?: number; lease_ttl_seconds?: number; claim_id?: string }): Promise<LeaseGrant[]> {
    return (await this.http.call<{ leases: LeaseGrant[] }>('POST', '/v1/leases/claim', input)).body.leases;
  }
  /**
   * Extends a lease. `renewal`, the number this renewal will be (the renewals answered so far, plus one), makes it safe to
   * send again when no answer came: the server renews once and answers the resend as it did (`status: 'duplicate'`).
   */
  async renew(proof: LeaseProof, leaseTtlSeconds?: number, renewal?: number): Promise<LeaseRenewal> {
    return (await this.http.call<LeaseRenewal>('POST', '/v1/leases/renew', {
      ...proofOf(proof), ...(leaseTtlSeconds && { lease_ttl_seconds: leaseTtlSeconds }), ...(renewal !== undefined && { renewal }),
    })).body;
  }
  async start(taskId: string, proof: LeaseProof): Promise<AppendAnswer> {
    return (await this.http.call<AppendAnswer>('POST', `/v1/tasks/${enc(taskId)}/start`, proofOf(proof))).body;
  }
  async progress(taskId: string, proof: LeaseProof, progress: Record<string, unknown>): Promise<AppendAnswer> {
    return (await this.http.call<AppendAnswer>('POST', `/v1/tasks/${enc(taskId)}/progress`, { ...proofOf(proof), progress })).body;
  }
  async complete(taskId: string, proof: LeaseProof, completion: Completion): Promise<AppendAnswer> {
    return (await this.http.call<AppendAnswer>('POST', `/v1/tasks/${enc(taskId)}/complete`, { ...proofOf(proof), ...completion })).body;
  }
  async completeBatch(items: (LeaseProof & Completion & { task_id: string })[]) {
    return (await this.http.call<{ results: { statusCode: number }[] }>('POST', '/v1/tasks/complete-batch', {
      completions: items.map(({ task_id, artifacts, delivery_proof, result_summary, ...proof }) => ({ task_id, ...proofOf(proof), artifacts, delivery_proof, result_summary })),
    })).body;
  }
  async fail(taskId: string, proof: LeaseProof, error: string | Record<string, unknown>, retryable: boolean): Promise<AppendAnswer> {
    return (await this.http.call<AppendAnswer>('POST', `/v1/tasks/${enc(taskId)}/fail`, { ...proofOf(proof), error, retryable })).body;
  }
  async release(taskId: string, proof: LeaseProof, reason?: string): Promise<AppendAnswer> {
    return (await this.http.call<AppendAnswer>('POST', `/v1/tasks/${enc(taskId)}/release`, { ...proofOf(proof), ...(reason && { reason }) })).body;
  }

  // ── sessions and orphan events ──
  /** Opens a session with its one owner; the same owner again answers the stored session (status existing). */
  async openSession(input: SessionOpenInput): Promise<SessionAnswer> {
    return (await this.http.call<SessionAnswer>('POST', '/v1/sessions', input)).body;
  }
  /** Adds correlation keys to an open session (a key already set cannot change). */
  async updateSession(id: string, keys: { conversation_id?: string; workspace_ref?: string; task_ref?: string; by?: Principal }): Promise<SessionAnswer> {
    return (await this.http.call<SessionAnswer>('PATCH', `/v1/sessions/${enc(id)}`, keys)).body;
  }
  async closeSession(id: string, options: { by?: Principal; reason?: string } = {}): Promise<SessionAnswer> {
    return (await this.http.call<SessionAnswer>('POST', `/v1/sessions/${enc(id)}/close`, options)).body;
  }
  /** The session and a page of its DAG. */
  async session(id: string, page: { cursor?: string | null; limit?: number } = {}): Promise<SessionDag> {
    return (await this.http.call<SessionDag>('GET', `/v1/sessions/${enc(id)}${q(page)}`)).body;
  }
  async reportEvent(event: EventInput): Promise<EventAnswer> {
    return (await this.http.call<EventAnswer>('POST', '/v1/events', event)).body;
  }
  /** Many events in one transaction, in order; a refusal of one event is its item's error, not an exception. */
  async reportEvents(events: EventInput[]): Promise<{ results: EventBatchItem[] }> {
    return (await this.http.call<{ results: EventBatchItem[] }>('POST', '/v1/events', { events })).body;
  }
  async orphans(filter: { state?: OrphanState; cursor?: string | null; limit?: number } = {}): Promise<{ orphans: OrphanView[]; cursor: string | null }> {
    return (await this.http.call<{ orphans: OrphanView[]; cursor: string | null }>('GET', `/v1/orphans${q(filter)}`)).body;
  }

  // ── stamps (what an operator reads; runtimes mint and close them) ──
  /** A stamp (state active | tombstoned | ambiguous, outcome, generation) and a page of its receipts. */
  async stamp(id: string, page: { cursor?: string | null; limit?: number } = {}): Promise<{ stamp: StampView; history: Receipt[]; cursor: string | null }> {
    return (await this.http.call<{ stamp: StampView; history: Receipt[]; cursor: string | null }>('GET', `/v1/stamps/${enc(id)}${q(page)}`)).body;
  }
  /** Ambiguous stamps (TTL passed, no tombstone) with their last known events: what someone should look into. */
  async investigations(page: { cursor?: string | null; limit?: number } = {}): Promise<{ investigations: Investigation[]; cursor: string | null }> {
    return (await this.http.call<{ investigations: Investigation[]; cursor: string | null }>('GET', `/v1/investigations${q(page)}`)).body;
  }

  // ── capabilities ──
  /** Declares a capability and the planes that negotiate it; the same declaration again changes nothing. */
  async declareCapability(input: DeclareCapability): Promise<CapabilityAnswer> {
    return (await this.http.call<CapabilityAnswer>('POST', '/v1/capabilities', input)).body;
  }
  /** A plane (runtime, server, plugin, policy, ...) reports; `changed` says whether the effective state moved. */
  async reportPlane(capabilityRef: string, plane: Plane, report: PlaneReport): Promise<CapabilityAnswer & { changed: boolean }> {
    return (await this.http.call<CapabilityAnswer & { changed: boolean }>('POST', `/v1/capabilities/${enc(capabilityRef)}/planes/${plane}`, report)).body;
  }
  /** A surface reports what it shows; claiming enabled when it is not raises capability_split_brain. */
  async observeCapability(capabilityRef: string, plane: Plane, claimedState: EffectiveState): Promise<ObservationAnswer> {
    return (await this.http.call<ObservationAnswer>('POST', `/v1/capabilities/${enc(capabilityRef)}/observations`, { plane, claimedState })).body;
  }
  /** One capability with a page of its history. */
  async capability(capabilityRef: string, page: { cursor?: string | null; limit?: number } = {}): Promise<{ capability: CapabilityView; history: CapabilityEventView[]; cursor: string | null }> {
    return (await this.http.call<{ capability: CapabilityView; history: CapabilityEventView[]; cursor: string | null }>('GET', `/v1/capabilities/${enc(capabilityRef)}${q(page)}`)).body;
  }
  /** The capability matrix. */
  async capabilities(filter: { state?: EffectiveState; cursor?: string | null; limit?: number } = {}): Promise<{ capabilities: CapabilityMatrixRow[]; cursor: string | null }> {
    return (await this.http.call<{ capabilities: CapabilityMatrixRow[]; cursor: string | null }>('GET', `/v1/capabilities${q(filter)}`)).body;
  }

  // ── browser automation ──
  /**
   * Starts an automation session. A denied start throws QuittanceClientError 403 QUITTANCE_ERR_AUTOMATION_START_DENIED,
   * whose body carries the denied session and the receipt recording the denial.
   */
  async startAutomation(input: StartAutomation): Promise<AutomationAnswer> {
    return (await this.http.call<AutomationAnswer>('POST', '/v1/automation/sessions', input)).body;
  }
  /** Sessions oldest first; `state: 'active'` is what the user sees and may revoke. */
  async automationSessions(filter: { state?: TerminalState; cursor?: string | null; limit?: number } = {}): Promise<{ sessions: AutomationSessionView[]; cursor: string | null }> {
    return (await this.http.call<{ sessions: AutomationSessionView[]; cursor: string | null }>('GET', `/v1/automation/sessions${q(filter)}`)).body;
  }
  async automationSession(automationId: string): Promise<AutomationSessionView> {
    return (await this.http.call<{ session: AutomationSessionView }>('GET', `/v1/automation/sessions/${enc(automationId)}`)).body.session;
  }
  /** The user revokes a session; it holds for the very next action. */
  async revokeAutomation(automationId: string, options: { revokedBy?: string; reason?: string } = {}): Promise<AutomationEndAnswer> {
    return (await this.http.call<AutomationEndAnswer>('POST', `/v1/automation/sessions/${enc(automationId)}/revoke`, options)).body;
  }
  /**
   * Records an action. A denied action (out of scope, revoked, ended) throws QuittanceClientError 403
   * QUITTANCE_ERR_AUTOMATION_ACTION_DENIED whose body has `reason`, the denied `receipt` and any `anomaly`.
   */
  async automationAction(automationId: string, action: string): Promise<{ outcome: 'executed'; receipt: Receipt }> {
    return (await this.http.call<{ outcome: 'executed'; receipt: Receipt }>('POST', `/v1/automation/sessions/${enc(automationId)}/actions`, { action })).body;
  }
  async completeAutomation(automationId: string, reason?: string): Promise<AutomationEndAnswer> {
    return (await this.http.call<AutomationEndAnswer>('POST', `/v1/automation/sessions/${enc(automationId)}/complete`, reason ? { reason } : {})).body;
  }
  async failAutomation(automationId: string, reason?: string): Promise<AutomationEndAnswer> {
    return (await this.http.call<AutomationEndAnswer>('POST', `/v1/automation/sessions/${enc(automationId)}/fail`, reason ? { reason } : {})).body;
  }
}
