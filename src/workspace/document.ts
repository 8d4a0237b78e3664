import { QuittanceError } from '../errors.js';
import type {
  Actionability,
  GitFacts,
  GitWorkspaceFacts,
  GitWorkspaceStateName,
  PathEvidence,
  Severity,
  WorkspaceOperation,
} from './types.js';

/**
 * The SourceOS GitWorkspaceState document (DESIGN §9): the classification's facts plus the references a recorded
 * state needs. Keys are exactly DESIGN §9's field list, camelCase (interchange documents keep SourceOS spelling),
 * nothing more: the schema says additionalProperties false, so the builder copies fields one by one instead of
 * spreading a classification that carries extra, in-process facts.
 */

export const GIT_WORKSPACE_STATE_TYPE = 'GitWorkspaceState';
export const GIT_WORKSPACE_STATE_SPEC_VERSION = '0.1.0';
export const GIT_WORKSPACE_STATE_ID_PREFIX = 'urn:srcos:git-workspace-state:';

export interface GitWorkspaceStateDocument {
  id: string;
  type: typeof GIT_WORKSPACE_STATE_TYPE;
  specVersion: typeof GIT_WORKSPACE_STATE_SPEC_VERSION;
  sessionRef: string;
  capabilityLedgerRef: string;
  workspaceRef: string;
  state: GitWorkspaceStateName;
  severity: Severity;
  operation: WorkspaceOperation;
  actionability: Actionability;
  pathEvidence: PathEvidence;
  gitFacts: GitFacts;
  expectedNegativeState?: boolean;
  agentMachineReceiptRef?: string | null;
  causalRefs?: string[];
  policyDecisionRef: string;
  evidenceRefs: string[];
  capturedAt: string;
}

export interface GitWorkspaceStateRefs {
  /** A local id (`[A-Za-z0-9][A-Za-z0-9._:-]*`) or the full `urn:srcos:git-workspace-state:<local-id>`. */
  id: string;
  /** `urn:srcos:session:<id>` */
  sessionRef: string;
  /** `urn:srcos:capability-ledger:<id>` */
  capabilityLedgerRef: string;
  /** `urn:srcos:workspace:<id>` */
  workspaceRef: string;
  /** `urn:srcos:decision:<id>` */
  policyDecisionRef: string;
  /** URNs or `sha256:<64 hex>` */
  evidenceRefs: readonly string[];
  /** RFC 3339 date-time, or milliseconds since the epoch (e.g. from the injected clock), or a Date. */
  capturedAt: string | number | Date;
  /** `urn:srcos:agent-machine-receipt:<id>`, or null */
  agentMachineReceiptRef?: string | null;
  causalRefs?: readonly string[];
}

const LOCAL_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const URN_RE = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+$/;
/** The URN kinds schemas/GitWorkspaceState.schema.json requires of each reference. */
const REF_PATTERNS = {
  sessionRef: /^urn:srcos:session:\S+$/,
  capabilityLedgerRef: /^urn:srcos:capability-ledger:\S+$/,
  workspaceRef: /^urn:srcos:workspace:\S+$/,
  agentMachineReceiptRef: /^urn:srcos:agent-machine-receipt:\S+$/,
  policyDecisionRef: /^urn:srcos:decision:\S+$/,
} as const;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

function invalid(pointer: string, detail: string): QuittanceError {
  return new QuittanceError('QUITTANCE_ERR_VALIDATION', [`${pointer} ${detail}`]);
}

function documentId(id: unknown): string {
  if (typeof id !== 'string') throw invalid('/id', `must be a local id or ${GIT_WORKSPACE_STATE_ID_PREFIX}<local-id>`);
  const local = id.startsWith(GIT_WORKSPACE_STATE_ID_PREFIX) ? id.slice(GIT_WORKSPACE_STATE_ID_PREFIX.length) : id;
  if (!LOCAL_ID_RE.test(local) || local.startsWith('urn:')) {
    throw invalid('/id', `must be a local id or ${GIT_WORKSPACE_STATE_ID_PREFIX}<local-id>`);
  }
  return GIT_WORKSPACE_STATE_ID_PREFIX + local;
}

function ref(name: keyof typeof REF_PATTERNS, value: unknown): string {
  const re = REF_PATTERNS[name];
  if (typeof value !== 'string' || !re.test(value)) {
    throw invalid(`/${name}`, `must be ${re.source.slice(1, re.source.indexOf('\\'))}<id>`);
  }
  return value;
}

/** A list of distinct references (the schema's uniqueItems), each checked by `ok`. */
function refList(pointer: string, value: unknown, ok: (r: string) => boolean, what: string): string[] {
  if (!Array.isArray(value)) throw invalid(pointer, 'must be an array');
  const seen = new Set<string>();
  return value.map((r: unknown, i) => {
    if (typeof r !== 'string' || !ok(r)) throw invalid(`${pointer}/${i}`, `must be ${what}`);
    if (seen.has(r)) throw invalid(`${pointer}/${i}`, 'repeats an earlier reference');
    seen.add(r);
    return r;
  });
}

function capturedAtOf(value: string | number | Date): string {
  if (typeof value === 'string') {
    if (!DATE_TIME_RE.test(value) || Number.isNaN(Date.parse(value))) throw invalid('/capturedAt', 'must be an RFC 3339 date-time');
    return value;
  }
  const ms = typeof value === 'number' ? value : value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw invalid('/capturedAt', 'must be an RFC 3339 date-time');
  return new Date(ms).toISOString();
}

function copyPathEvidence(e: PathEvidence): PathEvidence {
  if (!DIGEST_RE.test(e.pathDigest)) throw invalid('/pathEvidence/pathDigest', 'must be sha256:<64 hex>');
  // The one rule DESIGN §9 states for this document beyond its shape: the raw path is never stored.
  if (e.rawPathStored !== false) throw invalid('/pathEvidence/rawPathStored', 'must be false');
  return { pathDigest: e.pathDigest, redactedPathHint: e.redactedPathHint, redaction: e.redaction, rawPathStored: false };
}

function copyGitFacts(g: GitFacts): GitFacts {
  const out: GitFacts = {
    branch: g.branch,
    headSha: g.headSha,
    remoteState: g.remoteState,
    worktreeRootDigest: g.worktreeRootDigest,
    gitDirDigest: g.gitDirDigest,
  };
  if (g.failureReason !== undefined) out.failureReason = g.failureReason;
  if (g.commandClass !== undefined) out.commandClass = g.commandClass;
  return out;
}

/** The facts of a classification that a GitWorkspaceState document carries (what `git-state --json` prints). */
export function gitWorkspaceFacts(c: GitWorkspaceFacts): GitWorkspaceFacts {
  return {
    state: c.state,
    severity: c.severity,
    operation: c.operation,
    actionability: c.actionability,
    expectedNegativeState: c.expectedNegativeState,
    pathEvidence: copyPathEvidence(c.pathEvidence),
    gitFacts: copyGitFacts(c.gitFacts),
  };
}

/**
 * Builds a GitWorkspaceState document. Pass a classification checked with `classifier.current()` when it is
 * recorded later than it was made, so a stale one is recorded as `operation_superseded`.
 * Throws QUITTANCE_ERR_VALIDATION (400) on a malformed reference.
 */
export function buildGitWorkspaceState(facts: GitWorkspaceFacts, refs: GitWorkspaceStateRefs): GitWorkspaceStateDocument {
  const id = documentId(refs.id);
  const evidenceRefs = refList('/evidenceRefs', refs.evidenceRefs, (r) => URN_RE.test(r) || DIGEST_RE.test(r), 'a URN or sha256:<64 hex>');
  const doc: GitWorkspaceStateDocument = {
    id,
    type: GIT_WORKSPACE_STATE_TYPE,
    specVersion: GIT_WORKSPACE_STATE_SPEC_VERSION,
    sessionRef: ref('sessionRef', refs.sessionRef),
    capabilityLedgerRef: ref('capabilityLedgerRef', refs.capabilityLedgerRef),
    workspaceRef: ref('workspaceRef', refs.workspaceRef),
    state: facts.state,
    severity: facts.severity,
    operation: facts.operation,
    actionability: facts.actionability,
    pathEvidence: copyPathEvidence(facts.pathEvidence),
    gitFacts: copyGitFacts(facts.gitFacts),
    expectedNegativeState: facts.expectedNegativeState,
    policyDecisionRef: ref('policyDecisionRef', refs.policyDecisionRef),
    evidenceRefs,
    capturedAt: capturedAtOf(refs.capturedAt),
  };
  if (refs.agentMachineReceiptRef !== undefined) {
    doc.agentMachineReceiptRef = refs.agentMachineReceiptRef === null ? null : ref('agentMachineReceiptRef', refs.agentMachineReceiptRef);
  }
  if (refs.causalRefs !== undefined) doc.causalRefs = refList('/causalRefs', refs.causalRefs, (r) => URN_RE.test(r), 'a URN');
  return doc;
}
