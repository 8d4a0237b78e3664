-- Capability negotiation and browser automation sessions (DESIGN §8). Mirrors migrations/sqlite/0005_capabilities.sql
-- (conventions as in 0001_ledger.sql). Each row is a projection of receipts in the ledger (capability.ledger,
-- automation.*), changed in the same transaction as the receipt it reflects.
--
-- Two servers: a write reads a capability or an automation session with SELECT ... FOR UPDATE, after locking the
-- tenant's chain head, and keeps both to COMMIT: a revocation committed on one server is what the very next
-- action on any other server reads, and two declarations or starts of the same thing are decided one at a time.

-- One row per capability: its declaration, the latest report of each plane, and the effective state computed
-- from them (src/capabilities/precedence.ts).
CREATE TABLE capabilities (
  tenant_id       text NOT NULL,
  capability_ref  text COLLATE "C" NOT NULL,  -- urn:srcos:capability:<name>@<version>; list order and cursor
  declared_by     text NOT NULL,     -- JSON array of planes, sorted
  required_planes text NOT NULL,     -- JSON array of planes, sorted
  optional_planes text NOT NULL,     -- JSON array of planes, sorted
  session_ref     text,              -- urn:srcos:session:<id> when a session requested it
  planes          text NOT NULL,     -- JSON object: plane → {status, reason, evidenceRefs, policyDecisionRef, reportedAt}
  effective_state text NOT NULL,
  state_reason    text NOT NULL,
  record          text NOT NULL,     -- JSON: the latest CapabilityLedger record
  receipt_id      text NOT NULL,     -- the capability.ledger receipt carrying that record
  events          integer NOT NULL,  -- history entries so far (the last event_no)
  declared_at     text COLLATE "C" NOT NULL,
  updated_at      text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, capability_ref)
);
-- The matrix filtered by state (GET /v1/capabilities?state=...).
CREATE INDEX capabilities_state ON capabilities (tenant_id, effective_state, capability_ref);

-- A capability's history: declarations, plane reports and surface observations, in order.
CREATE TABLE capability_events (
  tenant_id          text NOT NULL,
  capability_ref     text NOT NULL,
  event_no           integer NOT NULL,  -- 1, 2, ... per capability
  kind               text NOT NULL,     -- declared | plane_report | observation
  plane              text,              -- the reporting plane or observing surface
  detail             text NOT NULL,     -- JSON: what was declared, reported or claimed
  effective_state    text NOT NULL,     -- the state right after this event
  receipt_id         text,              -- the capability.ledger receipt when the state changed
  anomaly_receipt_id text,              -- the capability_split_brain anomaly an observation raised
  at                 text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, capability_ref, event_no)
);

-- One row per browser automation session (started or denied). Actions only bump the counters: the receipts are
-- the record of each action.
CREATE TABLE automation_sessions (
  tenant_id        text NOT NULL,
  automation_id    text NOT NULL,     -- UUIDv7; the local id of urn:srcos:receipt:browser-automation:<id>
  session_ref      text NOT NULL,     -- urn:srcos:session:<id>: one owner per session_ref
  owner_ref        text NOT NULL,
  capability_ref   text NOT NULL,
  state            text NOT NULL,     -- active | revoked | completed | failed | denied
  permission_scope text NOT NULL,     -- JSON array of action names, sorted
  document         text NOT NULL,     -- JSON: the session's BrowserAutomationReceipt as it stands
  start_receipt_id text NOT NULL,     -- automation.started (or the automation.action recording a denied start)
  start_seq        bigint NOT NULL,   -- that receipt's seq: list order and cursor
  end_receipt_id   text,              -- automation.ended
  actions_executed integer NOT NULL,
  actions_denied   integer NOT NULL,
  started_at       text COLLATE "C" NOT NULL,
  ended_at         text COLLATE "C",
  PRIMARY KEY (tenant_id, automation_id)
);
-- What the user sees: sessions by state, oldest first.
CREATE INDEX automation_sessions_state ON automation_sessions (tenant_id, state, start_seq);
CREATE INDEX automation_sessions_seq ON automation_sessions (tenant_id, start_seq);
-- One owner per session: every start looks up earlier sessions (denied ones too) under the same session_ref.
CREATE INDEX automation_sessions_ref ON automation_sessions (tenant_id, session_ref, start_seq);
-- At most one session that started per session_ref (denied starts may be retried). The engine checks first, under
-- the tenant's lock; this makes it a guarantee.
CREATE UNIQUE INDEX automation_sessions_started_ref ON automation_sessions (tenant_id, session_ref) WHERE state <> 'denied';
-- Sessions the gate revokes when their capability leaves enabled.
CREATE INDEX automation_sessions_capability ON automation_sessions (tenant_id, capability_ref, start_seq) WHERE state = 'active';
