/**
 * TypeScript types of the contract schemas. GENERATED from schemas/*.schema.json by src/contracts/codegen.ts:
 * do not edit by hand. After changing a schema run
 *   npx tsc -p . && node dist/src/contracts/codegen.js --write
 * test/contracts/types.test.ts fails while this file and the schemas disagree.
 */

/** The body of a system.anomaly receipt: something is wrong and a person or agent should look. Anomalies never discharge anything. Kinds are an open set; known ones: success_without_locatability, missing_tombstone, repeated_lease_expiry, max_attempts_exceeded, stale_lease_write, capability_split_brain, orphan_quarantined, action_after_revocation, chain_break, evidence_corrupt. Each kind may add its own keys. */
export interface Anomaly {
  /** What is wrong, as a snake_case kind. */
  kind: string;
  /** What is wrong and what to do, for people. */
  message?: string;
  [key: string]: unknown;
}

/** A store pointer: where the product of the work can be found. Extra keys are allowed (and hashed with the receipt). */
export interface Artifact {
  /** What kind of store the pointer points into. */
  kind: 's3' | 'file' | 'db' | 'blob' | 'url' | 'git' | 'other';
  /** Where the product is, in the store's own notation (s3://bucket/key, a file path, a row locator, ...). */
  uri: string;
  /** Content digest of the product, e.g. sha256:<hex>. */
  digest?: string;
  /** Size of the product in bytes. */
  size_bytes?: number;
  [key: string]: unknown;
}

/** Receipt for a browser automation session: who drives which browser, over which transport, with which permissions, visibly to the user and revocable by them. Beyond this schema the validator requires revokedAt and capturedAt not to be before startedAt, and refuses ambiguous session ownership across documents validated together (one sessionRef, two different ownerRefs). */
export interface BrowserAutomationReceipt {
  /** Stable identifier of this browser automation receipt: a URN urn:srcos:receipt:browser-automation:<local-id>. */
  id: string;
  /** Document type; always "BrowserAutomationReceipt". Validators pick the schema from it. */
  type: 'BrowserAutomationReceipt';
  /** Semantic version of the SourceOS contract this document was written to, e.g. 0.1.0. */
  specVersion: string;
  /** The automation session (urn:srcos:session:<id>). One session has exactly one owner. */
  sessionRef: string;
  /** The CapabilityLedger record (urn:srcos:capability-ledger:<id>) that enabled the capability this record exercises. */
  capabilityLedgerRef: string;
  /** The agent or plugin that owns and drives the session (a srcos URN, e.g. urn:srcos:agent:<id>). */
  ownerRef: string;
  /** How the browser is driven. */
  transport: 'native_pipe' | 'cdp' | 'webdriver' | 'extension' | 'accessibility';
  /** The actions the owner may take (snake_case names such as read_page, navigate, enter_text); any other action is denied. */
  permissionScope: string[];
  /** Where the automation request came from. */
  origin: 'local' | 'remote' | 'workspace';
  /** What the session controls, or null when it is not narrowed. */
  controlledScope?: {
    /** The browser window under control, or null. */
    windowRef: string | null;
    /** The tab under control, or null. */
    tabRef: string | null;
    /** The web origin (scheme://host[:port]) the session is confined to, or null. */
    urlOrigin: string | null;
    /** The workspace (urn:srcos:workspace:<id>) the session acts for, or null. */
    workspaceRef: string | null;
  } | null;
  /** Always true: an automation session the user cannot see is not allowed. */
  userVisible: true;
  /** Always true: the user can revoke the session at any time. */
  revocable: true;
  /** When the session started. */
  startedAt: string;
  /** When the user revoked the session, or null. Must not be before startedAt. */
  revokedAt?: string | null;
  /** Where the session stands: active while running; denied when it was never allowed to start. */
  terminalState?: 'active' | 'revoked' | 'completed' | 'failed' | 'denied';
  /** URNs of the records and events that caused this one. */
  causalRefs?: string[];
  /** URN of the policy decision (urn:srcos:decision:<id>) under which this record was made. Required: a record no decision stands behind is not accountable. */
  policyDecisionRef: string;
  /** Evidence behind this record: URNs or content digests sha256:<64 hex>. Records point at evidence (manifests, logs, captures); they never contain it. */
  evidenceRefs: string[];
  /** When this record was captured (RFC 3339 date-time with a time zone). Must not be before startedAt. */
  capturedAt: string;
}

/** Effective state of one capability after every plane (config, UI, runtime, server, plugin, policy, schema, transport) has reported. A feature counts as enabled only when effectiveState is "enabled"; a surface claiming "enabled" otherwise is capability split-brain. Beyond this schema the validator refuses ambiguous session ownership: more than one owner for sessionRef, in this document or across documents validated together. */
export interface CapabilityLedger {
  /** Stable identifier of this capability-ledger record: a URN urn:srcos:capability-ledger:<local-id>. */
  id: string;
  /** Document type; always "CapabilityLedger". Validators pick the schema from it. */
  type: 'CapabilityLedger';
  /** Semantic version of the SourceOS contract this document was written to, e.g. 0.1.0. */
  specVersion: string;
  /** The capability, as urn:srcos:capability:<name>@<version>. */
  capabilityRef: string;
  /** The session this capability state applies to (urn:srcos:session:<id>), or null when it is not session-scoped. */
  sessionRef?: string | null;
  /** The agent-machine receipt (urn:srcos:agent-machine-receipt:<id>) of the machine this happened on, or null. */
  agentMachineReceiptRef?: string | null;
  /** The planes that declared the capability, typically config and ui. */
  declaredBy: ('config' | 'ui' | 'runtime' | 'server' | 'plugin' | 'policy' | 'schema' | 'transport' | 'user' | 'agent' | 'workspace')[];
  /** The planes that took part in negotiating it (runtime, server, plugin, policy, schema, transport, ...). */
  negotiatedBy: ('config' | 'ui' | 'runtime' | 'server' | 'plugin' | 'policy' | 'schema' | 'transport' | 'user' | 'agent' | 'workspace')[];
  /** The one effective state every surface must show, computed by a documented precedence in which a policy block beats everything. Required: a capability record without an effective state settles nothing. */
  effectiveState: 'declared' | 'requested' | 'negotiating' | 'available' | 'enabled' | 'degraded' | 'blocked_by_policy' | 'unsupported_by_runtime' | 'unsupported_by_server' | 'missing_plugin' | 'missing_schema' | 'failed';
  /** Why the capability is in this state, for people; or null. */
  stateReason?: string | null;
  /** Owners of this capability state (srcos URNs). When sessionRef is set these own the session, and one session has exactly one owner: two different owners is ambiguous session ownership and fails validation. */
  ownerRefs?: string[];
  /** Records that contradict this one (e.g. a surface claiming a different state): the evidence of a capability split-brain. */
  conflictRefs?: string[];
  /** URNs of the records and events that caused this one. */
  causalRefs?: string[];
  /** URN of the policy decision (urn:srcos:decision:<id>) under which this record was made. Required: a record no decision stands behind is not accountable. */
  policyDecisionRef: string;
  /** Evidence behind this record: URNs or content digests sha256:<64 hex>. Records point at evidence (manifests, logs, captures); they never contain it. */
  evidenceRefs: string[];
  /** When this record was captured (RFC 3339 date-time with a time zone). */
  capturedAt: string;
}

/** Proof that a product was delivered, pushed to an endpoint or stored somewhere: shaped for push and store alike. */
export interface DeliveryProof {
  /** push: sent to an endpoint; store: written to a store. */
  mode: 'push' | 'store';
  /** Where it went: an endpoint spec or a store pointer. */
  target: Record<string, unknown>;
  /** Whether the delivery succeeded. */
  status: 'succeeded' | 'failed';
  /** When the delivery happened. */
  at: string;
  /** What the target answered; extra keys are allowed. */
  proof: {
    /** Request id the target assigned. */
    request_id?: string;
    /** ETag of the stored object. */
    etag?: string;
    /** Id of the row written. */
    row_id?: string | number;
    /** HTTP status the target answered. */
    http_status?: number;
    [key: string]: unknown;
  };
}

/** Classification of a terminal or agent workspace path, made before any Git command runs there. Expected negative states (not_a_repo during passive discovery, ...) are info, not warnings. Raw paths are never stored: only a sha256 digest and a redacted hint. */
export interface GitWorkspaceState {
  /** Stable identifier of this classification: a URN urn:srcos:git-workspace-state:<local-id>. */
  id: string;
  /** Document type; always "GitWorkspaceState". Validators pick the schema from it. */
  type: 'GitWorkspaceState';
  /** Semantic version of the SourceOS contract this document was written to, e.g. 0.1.0. */
  specVersion: string;
  /** The session (urn:srcos:session:<id>) in which the classification was made. */
  sessionRef: string;
  /** The CapabilityLedger record (urn:srcos:capability-ledger:<id>) that enabled the capability this record exercises. */
  capabilityLedgerRef: string;
  /** The agent-machine receipt (urn:srcos:agent-machine-receipt:<id>) of the machine this happened on, or null. */
  agentMachineReceiptRef?: string | null;
  /** The workspace classified (urn:srcos:workspace:<id>). */
  workspaceRef: string;
  /** What the path is, as far as Git is concerned; operation_superseded when a newer classification of the same workspace replaced this one. */
  state: 'not_a_repo' | 'repo_root' | 'inside_worktree' | 'inside_git_dir' | 'bare_repo' | 'worktree_no_remote' | 'detached_head' | 'corrupt_repo' | 'permission_denied' | 'operation_superseded';
  /** Log severity. Expected negative states are info unless a user- or agent-requested command depends on Git. */
  severity: 'debug' | 'info' | 'warning' | 'error';
  /** What asked for the classification. */
  operation: 'passive_discovery' | 'watcher_refresh' | 'user_requested_command' | 'agent_requested_command' | 'ci_validation';
  /** What anyone should do about it. */
  actionability: 'none' | 'remediation_hint' | 'blocked' | 'quarantined';
  /** Evidence of which path was classified, without the path itself. */
  pathEvidence: {
    /** sha256:<64 hex> digest of the absolute path. */
    pathDigest: string;
    /** A redacted hint for people (e.g. ~ for the home folder), or null. */
    redactedPathHint?: string | null;
    /** How redactedPathHint was redacted. */
    redaction: 'none' | 'user_home_redacted' | 'workspace_alias' | 'digest_only';
    /** Always false: raw paths are never stored. */
    rawPathStored: false;
  };
  /** What Git state was found, read from the filesystem. */
  gitFacts: {
    /** The checked-out branch, or null (no repository, detached HEAD). */
    branch: string | null;
    /** The HEAD commit id (SHA-1 or SHA-256, possibly abbreviated), or null. */
    headSha: string | null;
    /** Whether a remote is configured and reachable as far as the classification can tell. */
    remoteState: 'available' | 'missing' | 'not_applicable' | 'error' | 'unknown';
    /** sha256 digest of the worktree root path, or null. */
    worktreeRootDigest: string | null;
    /** sha256 digest of the Git directory path, or null. */
    gitDirDigest: string | null;
    /** Why classification failed or came out negative, for people; or null. */
    failureReason?: string | null;
    /** The class of Git command the classification stands in for, or null. */
    commandClass?: 'config' | 'rev_parse' | 'symbolic_ref' | 'for_each_ref' | 'status' | 'remote' | 'watcher' | null;
  };
  /** True when state is a negative the operation expects (e.g. not_a_repo during passive discovery), so it is logged at info, not as a warning. */
  expectedNegativeState?: boolean;
  /** URNs of the records and events that caused this one. */
  causalRefs?: string[];
  /** URN of the policy decision (urn:srcos:decision:<id>) under which this record was made. Required: a record no decision stands behind is not accountable. */
  policyDecisionRef: string;
  /** Evidence behind this record: URNs or content digests sha256:<64 hex>. Records point at evidence (manifests, logs, captures); they never contain it. */
  evidenceRefs: string[];
  /** When this record was captured (RFC 3339 date-time with a time zone). */
  capturedAt: string;
}

/** What POST /v1/leases/claim takes: a worker asks for up to max_tasks eligible tasks whose required capabilities it has. The bounds are those of the default configuration (tasks.claimMaxTasks, tasks.leaseTtlSecondsMin and tasks.leaseTtlSecondsMax). */
export interface LeaseClaimRequest {
  /** The worker claiming; each lease and its stamp are bound to it (principal worker:<worker_id>). */
  worker_id: string;
  /** Capabilities the worker has; only tasks whose required capabilities are all among them are claimed. None when omitted. */
  capabilities?: string[];
  /** Task types the worker takes; omitted: any type. */
  accept_types?: string[];
  /** Most tasks to claim at once (default 1, at most tasks.claimMaxTasks, 100). */
  max_tasks?: number;
  /** Lease TTL in seconds (default tasks.leaseTtlSecondsDefault, 120; 5 to 1800). */
  lease_ttl_seconds?: number;
  /** The worker's name for this claim, fresh per claim. Sent again by the same worker_id (the answer was lost), the claim answers the leases it granted that are still active, each with a new lease_token (the tokens of the earlier answers keep working, so the answer the worker keeps holds a working one whichever was written last) and the same stamp token, and grants none. */
  claim_id?: string;
}

/** What POST /v1/leases/claim answers: one grant per claimed task, in claim order (priority, then age); an empty list when nothing is eligible. */
export interface LeaseClaimResponse {
  /** The leases granted: at most max_tasks. */
  leases: {
    /** The task claimed. */
    task_id: string;
    /** The task's type; workers dispatch on it. */
    type: string;
    /** The lease granted (lease_<UUIDv7>). */
    lease_id: string;
    /** Fencing token: every write under the lease carries it with lease_id. Shown once; the ledger keeps only its hash. */
    lease_token: string;
    /** The work's input inline, or null when the task has none or carries payload_ref. */
    payload: Record<string, unknown> | null;
    /** Where the work's input is, as the creator gave it, or null. */
    payload_ref: string | null;
    /** The task's attempt this lease works on, from 1. A lease expiry does not burn an attempt; a retryable failure does. */
    attempt: number;
    /** When the lease expires unless renewed. */
    expires_at: string;
    /** The stamp minted with the lease (GET /v1/stamps/{stamp_id} shows it whole), with its credential. */
    stamp: {
      /** Id of the stamp. */
      stamp_id: string;
      /** The credential, a compact JWS (EdDSA); shown once, never stored by the ledger. */
      token: string;
      /** The stamp's TTL, the safety net (it outlives the lease: the gate tombstones it when the lease ends). */
      expires_at: string;
    };
  }[];
}

/** Receipt for a lifecycle event that arrived before its session was known: queued, then recovered into its session DAG, quarantined with evidence when its TTL passed, or discarded as a duplicate. Beyond this schema the validator requires sessionResolution.recoveredSessionRef when state is recovered and sessionResolution.quarantinedAt when state is quarantined. */
export interface OrphanEventReceipt {
  /** Stable identifier of this orphan event receipt: a URN urn:srcos:receipt:orphan-event:<local-id>. */
  id: string;
  /** Document type; always "OrphanEventReceipt". Validators pick the schema from it. */
  type: 'OrphanEventReceipt';
  /** Semantic version of the SourceOS contract this document was written to, e.g. 0.1.0. */
  specVersion: string;
  /** The orphan event (urn:srcos:event:<id>). */
  eventRef: string;
  /** What kind of event it is. */
  eventClass: 'agent_lifecycle' | 'runtime_lifecycle' | 'browser_automation' | 'terminal_workspace' | 'plugin' | 'transport' | 'unknown';
  /** When the event was received. */
  observedAt: string;
  /** sha256:<64 hex> digest of the raw event as received. */
  rawEventDigest?: string;
  /** How the search for the event's session went. */
  sessionResolution: {
    /** queued while waiting; recovered once attached to its session; quarantined when the TTL passed unreconciled; discarded_duplicate for a repeated event id. */
    state: 'queued' | 'recovered' | 'quarantined' | 'discarded_duplicate';
    /** Sessions the event might belong to (several candidates keep it queued). */
    candidateSessionRefs: string[];
    /** The session the event was attached to; required (not null) when state is recovered. */
    recoveredSessionRef: string | null;
    /** The session DAG node (urn:srcos:session-dag-node:<id>) the event became, or null. */
    recoveredDagNodeRef: string | null;
    /** When the event was reconciled, or null. */
    reconciledAt: string | null;
    /** When the event was quarantined; required (not null) when state is quarantined. */
    quarantinedAt: string | null;
  };
  /** How long the event may wait in the orphan queue. */
  ttl: {
    /** When the event is quarantined if still unreconciled. */
    expiresAt: string;
    /** Whether expiresAt has passed. */
    expired: boolean;
  };
  /** The keys used to find the event's session. */
  correlationKeys?: {
    /** Conversation id carried by the event, or null. */
    conversationId: string | null;
    /** Parent event id carried by the event, or null. */
    parentId: string | null;
    /** Workspace (urn:srcos:workspace:<id>) carried by the event, or null. */
    workspaceRef: string | null;
    /** Task reference carried by the event, or null. */
    taskRef: string | null;
  };
  /** URNs of the records and events that caused this one. */
  causalRefs?: string[];
  /** URN of the policy decision (urn:srcos:decision:<id>) under which this record was made. Required: a record no decision stands behind is not accountable. */
  policyDecisionRef: string;
  /** Evidence behind this record: URNs or content digests sha256:<64 hex>. Records point at evidence (manifests, logs, captures); they never contain it. */
  evidenceRefs: string[];
  /** When this record was captured (RFC 3339 date-time with a time zone). */
  capturedAt: string;
}

/** Who sends or receives a receipt. */
export interface Principal {
  /** What sort of actor this is. */
  kind: 'agent' | 'worker' | 'service' | 'system' | 'human';
  /** Stable id of the actor within its kind. */
  id: string;
  /** Which running instance of the actor (e.g. one worker process), when it matters. */
  instance_id?: string;
}

/** An immutable, hashed record of one event in a tenant's append-only ledger, as the ledger stores and serves it. */
export interface Receipt {
  /** UUIDv7 assigned by the ledger. */
  receipt_id: string;
  /** The tenant, from the credential that appended the receipt. */
  tenant_id: string;
  /** Per-tenant, gapless, increasing sequence number assigned at append. */
  seq: number;
  /** Receipt type from the registry (DESIGN §3), e.g. task.completed. The ledger rejects types it does not know. */
  type: string;
  /** Who sends the receipt. */
  from: Principal;
  /** Who the receipt is addressed to; an obligation is owed to this principal. */
  to: Principal;
  /** The task this receipt is about. */
  task_id?: string;
  /** The lease this receipt was written under. */
  lease_id?: string;
  /** The stamp (task-scoped credential) this receipt is about. */
  stamp_id?: string;
  /** The session this receipt belongs to. */
  session_id?: string;
  /** receipt_ids this receipt answers or closes, sorted and de-duplicated; [] when none. */
  parents: string[];
  /** The contract itself, at most 64 KiB as canonical JSON. */
  body: Record<string, unknown>;
  /** Where the product is: at most 100 store pointers. A success terminator needs artifacts or delivery_proof to close anything. */
  artifacts?: Artifact[];
  /** Proof the product was delivered. A success terminator needs artifacts or delivery_proof to close anything. */
  delivery_proof?: DeliveryProof;
  /** Producer-chosen key (at most 256 characters in ReceiptInput): resending the same content with it returns the stored receipt; different content with it is refused (409). The ledger keys the task.assigned of a task by task.assigned:<task_id>, up to 270 characters. */
  idempotency_key?: string;
  /** When the ledger appended the receipt, from the ledger's clock (UTC). */
  created_at: string;
  /** sha256 (hex) over the RFC 8785 canonical form of the content fields; identical content has an identical hash. */
  hash: string;
  /** chain_hash of the tenant's previous receipt; 64 zeros for the first. */
  prev_hash: string;
  /** sha256(prev_hash ‖ receipt_id ‖ seq ‖ created_at ‖ hash): the tamper-evident chain link. */
  chain_hash: string;
  /** True when this terminator closed its parents; false for other types and for a success without locatability. */
  discharges: boolean;
  /** Telemetry only: when this obligation was first served to its principal. Never read by control logic. */
  delivered_at?: string;
}

/** What a producer sends to POST /v1/receipts. Everything else on a receipt is assigned by the ledger; the tenant comes from the credential, never from the body. */
export interface ReceiptInput {
  /** Receipt type from the registry (DESIGN §3), e.g. task.completed. The ledger rejects types it does not know. */
  type: string;
  /** Who sends the receipt. */
  from: Principal;
  /** Who the receipt is addressed to; an obligation is owed to this principal. */
  to: Principal;
  /** The task this receipt is about. */
  task_id?: string;
  /** The lease this receipt was written under. */
  lease_id?: string;
  /** The stamp (task-scoped credential) this receipt is about. */
  stamp_id?: string;
  /** The session this receipt belongs to. */
  session_id?: string;
  /** receipt_ids this receipt answers or closes: a set of at most 10. A terminator must list at least one. */
  parents?: string[];
  /** The contract itself: at most 64 KiB as canonical JSON. Receipt bodies are contracts, not chat messages. */
  body?: Record<string, unknown>;
  /** Where the product is: at most 100 store pointers. A success terminator needs artifacts or delivery_proof to close anything. */
  artifacts?: Artifact[];
  /** Proof the product was delivered. A success terminator needs artifacts or delivery_proof to close anything. */
  delivery_proof?: DeliveryProof;
  /** Producer-chosen key: resending the same content with it returns the stored receipt; different content with it is refused (409). */
  idempotency_key?: string;
}

/** Receipt for installing a runtime: one compact record that names its verified artifacts and points at the full manifest by digest, instead of a manifest dumped into logs. Beyond this schema the validator requires capturedAt and finishedAt not to be before startedAt. */
export interface RuntimeInstallReceipt {
  /** Stable identifier of this runtime install receipt: a URN urn:srcos:receipt:runtime-install:<local-id>. */
  id: string;
  /** Document type; always "RuntimeInstallReceipt". Validators pick the schema from it. */
  type: 'RuntimeInstallReceipt';
  /** Semantic version of the SourceOS contract this document was written to, e.g. 0.1.0. */
  specVersion: string;
  /** The session (urn:srcos:session:<id>) that asked for the install. */
  sessionRef: string;
  /** The CapabilityLedger record (urn:srcos:capability-ledger:<id>) that enabled the capability this record exercises. */
  capabilityLedgerRef: string;
  /** The agent-machine receipt (urn:srcos:agent-machine-receipt:<id>) of the machine this happened on, or null. */
  agentMachineReceiptRef?: string | null;
  /** The runtime installed (urn:srcos:runtime:<name>@<version>). */
  runtimeRef: string;
  /** Human name of the runtime, or null. */
  runtimeName?: string | null;
  /** Version of the runtime, or null. */
  runtimeVersion?: string | null;
  /** Where it is installed (urn:srcos:target:<id>). */
  targetRef: string;
  /** The target platform. */
  platform: 'darwin-arm64' | 'darwin-x64' | 'linux-x64' | 'linux-arm64' | 'win32-x64';
  /** How far the install got. */
  installState: 'requested' | 'manifest_resolved' | 'artifact_verified' | 'installing' | 'installed' | 'failed' | 'rolled_back' | 'partial' | 'denied' | 'deferred';
  /** The install manifest, by reference: the full manifest lives in the evidence store, never in logs. */
  manifest: {
    /** Where the manifest is (an evidence URN or locator). */
    manifestRef: string;
    /** sha256:<64 hex> digest of the manifest; identical installs share it. */
    manifestDigest: string;
    /** When the manifest was resolved. */
    resolvedAt: string;
    /** Version of the bundle format, or null. */
    bundleFormatVersion?: string | number | null;
  };
  /** The artifacts installed, at least one. */
  artifacts: {
    /** Where the artifact is (a URN or locator). */
    artifactRef: string;
    /** sha256:<64 hex> digest of the artifact. */
    digest: string;
    /** Size in bytes, or null. */
    sizeBytes?: number | null;
    /** Whether the artifact was checked against its digest. */
    verificationState: 'not_checked' | 'verified' | 'failed' | 'skipped';
  }[];
  /** How the install logged: one compact line naming this receipt, or a redacted debug log. */
  logMode: 'compact_receipt_ref' | 'full_debug_redacted';
  /** When the install started. */
  startedAt: string;
  /** When the install finished, or null while it runs. Must not be before startedAt. */
  finishedAt?: string | null;
  /** The install this one rolled back to, or null. */
  rollbackRef?: string | null;
  /** Why the install failed, or null. */
  failureReason?: string | null;
  /** URNs of the records and events that caused this one. */
  causalRefs?: string[];
  /** URN of the policy decision (urn:srcos:decision:<id>) under which this record was made. Required: a record no decision stands behind is not accountable. */
  policyDecisionRef: string;
  /** Evidence behind this record: URNs or content digests sha256:<64 hex>. Records point at evidence (manifests, logs, captures); they never contain it. */
  evidenceRefs: string[];
  /** When this record was captured (RFC 3339 date-time with a time zone). Must not be before startedAt. */
  capturedAt: string;
}

/** A task-scoped credential: minted at task start, active during execution, closed by exactly one tombstone (DESIGN §6), as GET /v1/stamps/{id} and the answers of POST /v1/stamps and POST /v1/stamps/{id}/rotate show it. Never carries its token (those answers give it beside the stamp, once; again only to a retry with the same idempotency_key). TTL is only the safety net: a stamp whose TTL passes without a tombstone is ambiguous. */
export interface Stamp {
  /** Id of the stamp; stays the same across rotations. */
  stamp_id: string;
  /** The tenant the stamp belongs to. */
  tenant_id: string;
  /** Who the stamp authorises, and who owes its tombstone. */
  subject: Principal;
  /** The task the stamp is scoped to: the caller's reference for a standalone stamp, the task_id for a lease's stamp. */
  task_ref: string;
  /** What the stamp allows; a lease's stamp carries the task's required capabilities that are valid scope tokens. */
  scope: string[];
  /** The ledger task the stamp belongs to; only on a lease's stamp or a standalone stamp minted with task_id. */
  task_id?: string;
  /** The lease the stamp was minted with; only on a lease's stamp. */
  lease_id?: string;
  /** The worker_id the stamp is bound to; only on a lease's stamp. */
  worker?: string;
  /** active until tombstoned; ambiguous when the TTL passed with no tombstone (a late tombstone still closes it). */
  state: 'active' | 'tombstoned' | 'ambiguous';
  /** The tombstone's outcome, or null while none was written. */
  outcome: 'completed' | 'crashed' | 'timeout' | 'revoked' | null;
  /** Who wrote the tombstone, or null while none was written. */
  closed_by: 'subject' | 'gate' | 'operator' | null;
  /** True when the tombstone arrived after the TTL (the stamp was ambiguous for a while); false otherwise. */
  late: boolean;
  /** Credential generation; rotation issues the next one and invalidates the previous at once. */
  generation: number;
  /** Id of the key that signed the current generation (in GET /.well-known/jwks.json). */
  kid: string;
  /** When the stamp was minted. */
  issued_at: string;
  /** TTL: the safety net, not the close signal. */
  expires_at: string;
  /** receipt_id of stamp.minted, the obligation the tombstone closes. */
  minted_receipt_id: string;
  /** receipt_id of stamp.tombstoned (its body is the TaskTombstone, with the time it was written), or null. */
  tombstone_receipt_id: string | null;
  /** receipt_id of the missing_tombstone anomaly raised when the TTL passed with no tombstone, or null. */
  anomaly_receipt_id: string | null;
}

/** A unit of work queued in the ledger and executed by a worker under a lease (DESIGN §5), as GET /v1/tasks/{id}, GET /v1/tasks and POST /v1/tasks show it. Every key is always present; absent values are null. Beyond this schema the validator refuses payload and payload_ref both non-null. */
export interface Task {
  /** Id of the task: the creator's, or task_<UUIDv7> assigned by the ledger. */
  task_id: string;
  /** What kind of work this is; workers dispatch on it. */
  type: string;
  /** queued → leased → running → succeeded | failed | canceled | escalated; back to queued on lease expiry, release or a retryable failure. */
  status: 'queued' | 'leased' | 'running' | 'succeeded' | 'failed' | 'canceled' | 'escalated';
  /** Claim order: eligible tasks are picked by priority (higher first), then by age. */
  priority: number;
  /** The current attempt, from 1. Lease expiry does not burn an attempt; a retryable failure does. */
  attempt: number;
  /** Attempts allowed before a failure is final. */
  max_attempts: number;
  /** How often a lease on this task expired (lost authority, not failure). */
  lease_expiries: number;
  /** Lease expiries tolerated before the task is escalated as a poison pill. */
  max_lease_expiries: number;
  /** How often the task was claimed. */
  claims: number;
  /** What a worker needs to claim the task. */
  requirements: {
    /** Capabilities a worker must have to claim the task, sorted and de-duplicated; [] when none. */
    capabilities: string[];
  };
  /** The work's input inline (at most 64 KiB as canonical JSON), or null. */
  payload: Record<string, unknown> | null;
  /** Where the work's input is, as the creator gave it, or null. */
  payload_ref: string | null;
  /** Base of the exponential backoff after a retryable failure, in seconds. */
  retry_backoff_seconds: number;
  /** When the task may next be claimed (creation plus delay_seconds, or the end of a retry backoff); a time not after now means it may be claimed now. */
  next_eligible_at: string;
  /** The creator's idempotency key, or null. */
  idempotency_key: string | null;
  /** Who created the task: the from of task.assigned. */
  created_by: Principal;
  /** Who the task.assigned obligation is addressed to (the worker pool unless the creator said otherwise). */
  assigned_to: Principal;
  /** receipt_id of the task's task.assigned receipt, the obligation its end closes. */
  assigned_receipt_id: string;
  /** The live lease while the task is leased or running, else null. */
  lease_id: string | null;
  /** How a finished task ended (succeeded, failed, canceled or escalated), or null while it has not. */
  outcome: {
    /** The receipt that ended the task (task.completed, task.failed, task.canceled or task.escalated). */
    receipt_id: string;
    /** The worker's error, as it reported it (a string of at most 8192 characters, or an object), when the task failed. */
    error?: string | Record<string, unknown>;
  } | null;
  /** When the task was created. */
  created_at: string;
  /** When the task last changed. */
  updated_at: string;
}

/** What POST /v1/tasks takes (and each item of POST /v1/tasks/batch). Creating a task appends task.assigned, the obligation. Beyond this schema the ledger and the validator refuse payload and payload_ref together, and the ledger refuses a payload over 64 KiB as canonical JSON (413). */
export interface TaskCreate {
  /** The task's id, chosen by the creator; generated (task_<UUIDv7>) when omitted. Creating again with the same id and content returns the existing task; other content under it is refused (409). Not "." or "..": the id is a URL path segment (/v1/tasks/{id}), and HTTP clients resolve those before sending. */
  task_id?: string;
  /** What kind of work this is; workers dispatch on it (accept_types of a claim). */
  type: string;
  /** The work's input, at most 64 KiB as canonical JSON. Mutually exclusive with payload_ref. */
  payload?: Record<string, unknown>;
  /** Where the work's input is, for inputs too large for payload (an evidence digest sha256:<64 hex>, or any reference the worker understands). Mutually exclusive with payload. */
  payload_ref?: string;
  /** What a worker needs to claim the task; none when omitted. */
  requirements?: {
    /** Capabilities a worker must have to claim the task; a set (repeats are folded). None when omitted. */
    capabilities?: string[];
  };
  /** Claim order: eligible tasks are picked by priority (higher first), then by age. Default 0. */
  priority?: number;
  /** Creating again with the same key and content returns the existing task (200); other content under the key is refused (409). */
  idempotency_key?: string;
  /** Attempts allowed before a failure is final (default tasks.maxAttemptsDefault, 3). */
  max_attempts?: number;
  /** Lease expiries tolerated before the task is escalated (default tasks.maxLeaseExpiriesDefault, 5). */
  max_lease_expiries?: number;
  /** Base of the exponential backoff after a retryable failure, in seconds (default 1). */
  retry_backoff_seconds?: number;
  /** How long after creation the task first becomes claimable, in seconds (default 0; at most 365 days). */
  delay_seconds?: number;
  /** Who hands the work over: the from of task.assigned. Omitted: the calling API key (service key:<key_id>). */
  created_by?: Principal;
  /** Who the task.assigned obligation is addressed to. Omitted: the worker pool (worker pool). */
  assign_to?: Principal;
}

/** The active close signal of a stamp, exactly one per stamp: the body of a stamp.tombstoned receipt, and the tombstone in the answer of POST /v1/stamps/{id}/tombstone. */
export interface TaskTombstone {
  /** The stamp this tombstone closes. */
  stamp_id: string;
  /** How the task ended: completed, crashed (worker-reported failure), timeout (lease expiry) or revoked (cancel or operator). */
  outcome: 'completed' | 'crashed' | 'timeout' | 'revoked';
  /** When the stamp was closed. */
  timestamp: string;
  /** Who closed it: the stamp's subject (the default of POST /v1/stamps/{id}/tombstone), the gate (the ledger, when a lease ends) or an operator. */
  closed_by: 'subject' | 'gate' | 'operator';
  /** Why, for people; absent when none was given. */
  reason?: string;
  /** Present, and true, only when the tombstone arrived after the stamp's TTL. */
  late?: true;
}

/** Every contract type, by schema name. */
export interface ContractTypeMap {
  Anomaly: Anomaly;
  Artifact: Artifact;
  BrowserAutomationReceipt: BrowserAutomationReceipt;
  CapabilityLedger: CapabilityLedger;
  DeliveryProof: DeliveryProof;
  GitWorkspaceState: GitWorkspaceState;
  LeaseClaimRequest: LeaseClaimRequest;
  LeaseClaimResponse: LeaseClaimResponse;
  OrphanEventReceipt: OrphanEventReceipt;
  Principal: Principal;
  Receipt: Receipt;
  ReceiptInput: ReceiptInput;
  RuntimeInstallReceipt: RuntimeInstallReceipt;
  Stamp: Stamp;
  Task: Task;
  TaskCreate: TaskCreate;
  TaskTombstone: TaskTombstone;
}

export type ContractTypeName = keyof ContractTypeMap;

/** The SourceOS interchange documents: each names its own schema in `type`. */
export type SourceOsDocument = BrowserAutomationReceipt | CapabilityLedger | GitWorkspaceState | OrphanEventReceipt | RuntimeInstallReceipt;

export const SOURCEOS_TYPE_NAMES = ['BrowserAutomationReceipt', 'CapabilityLedger', 'GitWorkspaceState', 'OrphanEventReceipt', 'RuntimeInstallReceipt'] as const;

/** The ledger's own types: they carry no type discriminator, so a validator must be told which schema to use. */
export const LEDGER_TYPE_NAMES = ['Anomaly', 'Artifact', 'DeliveryProof', 'LeaseClaimRequest', 'LeaseClaimResponse', 'Principal', 'Receipt', 'ReceiptInput', 'Stamp', 'Task', 'TaskCreate', 'TaskTombstone'] as const;
