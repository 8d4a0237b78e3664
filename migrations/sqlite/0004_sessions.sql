-- Sessions, their event DAGs and the orphan-event queue (DESIGN §7). Every row change is also a receipt in the
-- ledger; these tables are projections that make the questions "which session does this event belong to?" and
-- "which orphans has this session just made resolvable?" cheap.

CREATE TABLE sessions (
  tenant_id              TEXT NOT NULL,
  session_id             TEXT NOT NULL,
  owner                  TEXT NOT NULL,   -- principal JSON: the one owner
  owner_kind             TEXT NOT NULL,   -- ownership compares kind + id (instance_id is which process, not who)
  owner_id               TEXT NOT NULL,
  conversation_id        TEXT,
  workspace_ref          TEXT,
  task_ref               TEXT,
  parent_session_id      TEXT,
  state                  TEXT NOT NULL,   -- open | closed
  opened_receipt_id      TEXT NOT NULL,   -- the session.opened obligation
  closed_receipt_id      TEXT,            -- the session.closed terminator
  last_update_receipt_id TEXT,            -- the latest session.event recording a correlation-key change
  opened_at              TEXT NOT NULL,
  updated_at             TEXT NOT NULL,
  closed_at              TEXT,
  PRIMARY KEY (tenant_id, session_id)
) WITHOUT ROWID;
-- Reconciliation asks "which open sessions carry this key?": only open sessions are candidates, so only they are
-- indexed.
CREATE INDEX sessions_open_conversation ON sessions (tenant_id, conversation_id) WHERE state = 'open' AND conversation_id IS NOT NULL;
CREATE INDEX sessions_open_workspace ON sessions (tenant_id, workspace_ref) WHERE state = 'open' AND workspace_ref IS NOT NULL;
CREATE INDEX sessions_open_task ON sessions (tenant_id, task_ref) WHERE state = 'open' AND task_ref IS NOT NULL;

-- One row per event_id ever received (the first delivery wins): its identity, and its DAG node once attached.
CREATE TABLE session_events (
  tenant_id        TEXT NOT NULL,
  event_id         TEXT NOT NULL,
  event_class      TEXT NOT NULL,
  session_id       TEXT,             -- the session the event named, if any
  parent_id        TEXT,             -- the parent event (DAG edge)
  conversation_id  TEXT,
  workspace_ref    TEXT,
  task_ref         TEXT,
  payload_digest   TEXT,
  fingerprint      TEXT NOT NULL,    -- sha256 of the event's content: tells a retry from a conflicting reuse of the id
  raw_digest       TEXT NOT NULL,    -- sha256:<hex> of the event as first received
  observed_at      TEXT NOT NULL,
  deliveries       INTEGER NOT NULL, -- how many times this event_id arrived
  orphan_id        TEXT,             -- the orphan it was queued as, if it ever was
  node_session_id  TEXT,             -- set once the event is a node of a session DAG
  node_receipt_id  TEXT,             -- its session.event receipt
  node_seq         INTEGER,          -- seq of that receipt: DAG node order
  attached_at      TEXT,
  PRIMARY KEY (tenant_id, event_id)
) WITHOUT ROWID;
CREATE INDEX session_events_nodes ON session_events (tenant_id, node_session_id, node_seq) WHERE node_session_id IS NOT NULL;

-- One row per orphan.queued receipt: first deliveries waiting for their session, and repeated deliveries
-- recorded as discarded duplicates.
CREATE TABLE orphans (
  tenant_id             TEXT NOT NULL,
  orphan_id             TEXT NOT NULL,    -- local id of its OrphanEventReceipt (urn:srcos:receipt:orphan-event:<id>)
  seq                   INTEGER NOT NULL, -- seq of the orphan.queued receipt: queue order and list cursor
  queued_receipt_id     TEXT NOT NULL,
  event_id              TEXT NOT NULL,
  event_class           TEXT NOT NULL,
  session_id            TEXT,
  parent_id             TEXT,
  conversation_id       TEXT,
  workspace_ref         TEXT,
  task_ref              TEXT,
  payload_digest        TEXT,
  raw_digest            TEXT NOT NULL,
  state                 TEXT NOT NULL,    -- queued | recovered | quarantined | discarded_duplicate
  candidates            TEXT NOT NULL,    -- JSON array of session ids, sorted
  observed_at           TEXT NOT NULL,
  expires_at            INTEGER NOT NULL, -- ms since epoch: quarantined when still queued after this
  resolved_at           TEXT,
  resolution_receipt_id TEXT,             -- orphan.recovered | orphan.quarantined | orphan.discarded_duplicate
  node_receipt_id       TEXT,             -- the session.event it became, when recovered
  recovered_session_id  TEXT,
  duplicate_of          TEXT,             -- orphan_id of the first delivery, for a discarded duplicate
  document              TEXT NOT NULL,    -- the latest OrphanEventReceipt, canonical JSON
  PRIMARY KEY (tenant_id, orphan_id)
) WITHOUT ROWID;
-- The correlation lookups of reconciliation: only queued orphans are indexed, so they cost what is waiting.
CREATE INDEX orphans_queued_session ON orphans (tenant_id, session_id, seq) WHERE state = 'queued' AND session_id IS NOT NULL;
CREATE INDEX orphans_queued_conversation ON orphans (tenant_id, conversation_id, seq) WHERE state = 'queued' AND conversation_id IS NOT NULL;
CREATE INDEX orphans_queued_workspace ON orphans (tenant_id, workspace_ref, seq) WHERE state = 'queued' AND workspace_ref IS NOT NULL;
CREATE INDEX orphans_queued_task ON orphans (tenant_id, task_ref, seq) WHERE state = 'queued' AND task_ref IS NOT NULL;
CREATE INDEX orphans_queued_parent ON orphans (tenant_id, parent_id, seq) WHERE state = 'queued' AND parent_id IS NOT NULL;
-- The sweeper's question, across tenants: which queued orphans have run out of time?
CREATE INDEX orphans_expiry ON orphans (expires_at) WHERE state = 'queued';
-- GET /v1/orphans?state=...
CREATE INDEX orphans_state ON orphans (tenant_id, state, seq);
CREATE INDEX orphans_seq ON orphans (tenant_id, seq);
