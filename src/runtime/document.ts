/**
 * The RuntimeInstallReceipt document (DESIGN §9) for one step of a runtime install. Pure: the caller supplies the
 * ids, the time and the manifest's digest. Fields are copied one by one, so nothing the producer sent beyond the
 * contract's fields ends up in the document (its schema says additionalProperties false).
 */
import type { InstallState, RuntimeInstallRow } from './types.js';

export const RUNTIME_INSTALL_TYPE = 'RuntimeInstallReceipt';
export const RUNTIME_INSTALL_SPEC_VERSION = '0.1.0';
export const RUNTIME_INSTALL_ID_PREFIX = 'urn:srcos:receipt:runtime-install:';

/** States after which an install attempt is over: the next step starts a new attempt (a new startedAt). */
const ATTEMPT_OVER: ReadonlySet<string> = new Set<InstallState>(['installed', 'rolled_back', 'denied']);
/** States that finish a step of the install: finishedAt is the time they were recorded, unless the producer says. */
const FINISHED: ReadonlySet<string> = new Set<InstallState>(['installed', 'failed', 'rolled_back', 'denied']);

/** What a producer reports about one install step. The manifest itself travels apart (it goes to evidence). */
export interface InstallStep {
  runtimeRef: string;
  targetRef: string;
  platform: string;
  installState: string;
  artifacts: unknown[];
  sessionRef: string;
  capabilityLedgerRef: string;
  policyDecisionRef: string;
  agentMachineReceiptRef?: string | null;
  runtimeName?: string | null;
  runtimeVersion?: string | null;
  startedAt?: string;
  finishedAt?: string | null;
  /** When the manifest was resolved; default: when this step was recorded. */
  manifestResolvedAt?: string;
  bundleFormatVersion?: string | number | null;
  rollbackRef?: string | null;
  failureReason?: string | null;
  causalRefs?: string[];
  evidenceRefs?: string[];
  logMode?: string;
}

export interface InstallStepContext {
  /** The install's id and this step's position in its chain (1 for the first): together they name the document. */
  installId: string;
  link: number;
  /** RFC 3339: when this step is recorded. */
  now: string;
  manifestDigest: string;
  /** The chain's head before this step, if the chain exists. */
  previous?: RuntimeInstallRow | undefined;
}

function distinct(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** The document for one step; not yet validated (the caller validates it against the schema and the rules). */
export function runtimeInstallDocument(step: InstallStep, ctx: InstallStepContext): Record<string, unknown> {
  const prev = ctx.previous;
  const startedAt = step.startedAt ?? (prev !== undefined && !ATTEMPT_OVER.has(prev.install_state) ? prev.started_at : ctx.now);
  const manifest: Record<string, unknown> = {
    // Evidence is content-addressed: its digest is also where the ledger keeps it (GET /v1/evidence/{digest}).
    manifestRef: ctx.manifestDigest,
    manifestDigest: ctx.manifestDigest,
    resolvedAt: step.manifestResolvedAt ?? ctx.now,
  };
  if (step.bundleFormatVersion !== undefined) manifest['bundleFormatVersion'] = step.bundleFormatVersion;

  const doc: Record<string, unknown> = {
    id: `${RUNTIME_INSTALL_ID_PREFIX}${ctx.installId}.${ctx.link}`,
    type: RUNTIME_INSTALL_TYPE,
    specVersion: RUNTIME_INSTALL_SPEC_VERSION,
    sessionRef: step.sessionRef,
    capabilityLedgerRef: step.capabilityLedgerRef,
    runtimeRef: step.runtimeRef,
    targetRef: step.targetRef,
    platform: step.platform,
    installState: step.installState,
    manifest,
    artifacts: step.artifacts,
    logMode: step.logMode ?? 'compact_receipt_ref',
    startedAt,
    finishedAt: step.finishedAt !== undefined ? step.finishedAt : FINISHED.has(step.installState) ? ctx.now : null,
    policyDecisionRef: step.policyDecisionRef,
    evidenceRefs: distinct([ctx.manifestDigest, ...(step.evidenceRefs ?? [])]),
    capturedAt: ctx.now,
  };
  if (step.agentMachineReceiptRef !== undefined) doc['agentMachineReceiptRef'] = step.agentMachineReceiptRef;
  if (step.runtimeName !== undefined) doc['runtimeName'] = step.runtimeName;
  if (step.runtimeVersion !== undefined) doc['runtimeVersion'] = step.runtimeVersion;
  if (step.rollbackRef !== undefined) doc['rollbackRef'] = step.rollbackRef;
  if (step.failureReason !== undefined) doc['failureReason'] = step.failureReason;
  // The previous step's document caused this one: the document chain mirrors the receipt chain.
  const causal = distinct([...(step.causalRefs ?? []), ...(prev !== undefined ? [prev.head_document_id] : [])]);
  if (causal.length > 0) doc['causalRefs'] = causal;
  return doc;
}
