-- Capability negotiation and browser automation sessions (DESIGN §8). Each row is a projection of receipts in
-- the ledger (capability.ledger, automation.*), changed in the same transaction as the receipt it reflects.

-- One row per capability: its declaration, the latest report of each plane, and the effective state computed
-- from them (src/capabilities/precedence.ts).
CREATE TABLE capabilities (
  tenant_id       TEXT NOT NULL,
  capability_ref  TEXT NOT NULL,     -- urn:srcos:capability:<name>@<version>
  declared_by     TEXT NOT NULL,     -- JSON array of planes, sorted
  required_planes TEXT NOT NULL,     -- JSON array of planes, sorted
  optional_planes TEXT NOT NULL,     -- JSON array of planes, sorted
  session_ref     TEXT,              -- urn:srcos:session:<id> when a session requested it
  planes          TEXT NOT NULL,     -- JSON object: plane → {status, reason, evidenceRefs, policyDecisionRef, reportedAt}
  effective_state TEXT NOT NULL,
  state_reason    TEXT NOT NULL,
  record          TEXT NOT NULL,     -- JSON: the latest CapabilityLedger record
  receipt_id      TEXT NOT NULL,     -- the capability.ledger receipt carrying that record
  events          INTEGER NOT NULL,  -- history entries so far (the last event_no)
  declared_at     TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  PRIMARY KEY (tenant_id, capability_ref)
) WITHOUT ROWID;
-- The matrix filtered by state (GET /v1/capabilities?state=...).
CREATE INDEX capabilities_state ON capabilities (tenant_id, effective_state, capability_ref);

-- A capability's history: declarations, plane reports and surface observations, in order.
CREATE TABLE capability_events (
  tenant_id          TEXT NOT NULL,
  capability_ref     TEXT NOT NULL,
  event_no           INTEGER NOT NULL,  -- 1, 2, ... per capability
  kind               TEXT NOT NULL,     -- declared | plane_report | observation
  plane              TEXT,              -- the reporting plane or observing surface
  detail             TEXT NOT NULL,     -- JSON: what was declared, reported or claimed
  effective_state    TEXT NOT NULL,     -- the state right after this event
  receipt_id         TEXT,              -- the capability.ledger receipt when the state changed
  anomaly_receipt_id TEXT,              -- the capability_split_brain anomaly an observation raised
  at                 TEXT NOT NULL,
  PRIMARY KEY (tenant_id, capability_ref, event_no)
) WITHOUT ROWID;

-- One row per browser automation session (started or denied). Actions only bump the counters: the receipts are
-- the record of each action.
CREATE TABLE automation_sessions (
  tenant_id        TEXT NOT NULL,
  automation_id    TEXT NOT NULL,     -- UUIDv7; the local id of urn:srcos:receipt:browser-automation:<id>
  session_ref      TEXT NOT NULL,     -- urn:srcos:session:<id>: one owner per session_ref
  owner_ref        TEXT NOT NULL,
  capability_ref   TEXT NOT NULL,
  state            TEXT NOT NULL,     -- active | revoked | completed | failed | denied
  permission_scope TEXT NOT NULL,     -- JSON array of action names, sorted
  document         TEXT NOT NULL,     -- JSON: the session's BrowserAutomationReceipt as it stands
  start_receipt_id TEXT NOT NULL,     -- automation.started (or the automation.action recording a denied start)
  start_seq        INTEGER NOT NULL,  -- that receipt's seq: list order and cursor
  end_receipt_id   TEXT,              -- automation.ended
  actions_executed INTEGER NOT NULL,
  actions_denied   INTEGER NOT NULL,
  started_at       TEXT NOT NULL,
  ended_at         TEXT,
  PRIMARY KEY (tenant_id, automation_id)
) WITHOUT ROWID;
-- What the user sees: sessions by state, oldest first.
CREATE INDEX automation_sessions_state ON automation_sessions (tenant_id, state, start_seq);
CREATE INDEX automation_sessions_seq ON automation_sessions (tenant_id, start_seq);
-- One owner per session: every start looks up earlier sessions (denied ones too) under the same session_ref.
CREATE INDEX automation_sessions_ref ON automation_sessions (tenant_id, session_ref);
-- At most one session that started per session_ref (denied starts may be retried). The engine checks first; this
-- holds even for two servers starting the same session at once on a database without a row to lock.
CREATE UNIQUE INDEX automation_sessions_started_ref ON automation_sessions (tenant_id, session_ref) WHERE state <> 'denied';
-- Sessions the gate revokes when their capability leaves enabled.
CREATE INDEX automation_sessions_capability ON automation_sessions (tenant_id, capability_ref) WHERE state = 'active';
