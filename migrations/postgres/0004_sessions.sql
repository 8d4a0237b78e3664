-- Sessions, their event DAGs and the orphan-event queue (DESIGN §7). Mirrors migrations/sqlite/0004_sessions.sql
-- (the conventions of 0001_ledger.sql apply: RFC 3339 text times, COLLATE "C" where rows are ordered, JSON as
-- text). Every row change is also a receipt in the ledger; these tables are projections that make the questions
-- "which session does this event belong to?" and "which orphans has this session just made resolvable?" cheap.
--
-- Two servers: every write that reads or changes these rows first locks the tenant's chain head (see
-- src/store/postgres/batch.ts), so the same session_id or event_id arriving on two servers at once is decided
-- one after the other: the second sees the first's row and answers from it. The primary keys are the backstop.

CREATE TABLE sessions (
  tenant_id              text NOT NULL,
  session_id             text COLLATE "C" NOT NULL,
  owner                  text NOT NULL,   -- principal JSON: the one owner
  owner_kind             text NOT NULL,   -- ownership compares kind + id (instance_id is which process, not who)
  owner_id               text NOT NULL,
  conversation_id        text,
  workspace_ref          text,
  task_ref               text,
  parent_session_id      text,
  state                  text NOT NULL,   -- open | closed
  opened_receipt_id      text NOT NULL,   -- the session.opened obligation
  closed_receipt_id      text,            -- the session.closed terminator
  last_update_receipt_id text,            -- the latest session.event recording a correlation-key change
  opened_at              text COLLATE "C" NOT NULL,
  updated_at             text COLLATE "C" NOT NULL,
  closed_at              text COLLATE "C",
  PRIMARY KEY (tenant_id, session_id)
);
-- Reconciliation asks "which open sessions carry this key?": only open sessions are candidates, so only they are
-- indexed. session_id last: candidates come back in session_id order, as from SQLite's index.
CREATE INDEX sessions_open_conversation ON sessions (tenant_id, conversation_id, session_id) WHERE state = 'open' AND conversation_id IS NOT NULL;
CREATE INDEX sessions_open_workspace ON sessions (tenant_id, workspace_ref, session_id) WHERE state = 'open' AND workspace_ref IS NOT NULL;
CREATE INDEX sessions_open_task ON sessions (tenant_id, task_ref, session_id) WHERE state = 'open' AND task_ref IS NOT NULL;

-- One row per event_id ever received (the first delivery wins): its identity, and its DAG node once attached.
CREATE TABLE session_events (
  tenant_id        text NOT NULL,
  event_id         text NOT NULL,
  event_class      text NOT NULL,
  session_id       text,             -- the session the event named, if any
  parent_id        text,             -- the parent event (DAG edge)
  conversation_id  text,
  workspace_ref    text,
  task_ref         text,
  payload_digest   text,
  fingerprint      text NOT NULL,    -- sha256 of the event's content: tells a retry from a conflicting reuse of the id
  raw_digest       text NOT NULL,    -- sha256:<hex> of the event as first received
  observed_at      text COLLATE "C" NOT NULL,
  deliveries       integer NOT NULL, -- how many times this event_id arrived
  orphan_id        text,             -- the orphan it was queued as, if it ever was
  node_session_id  text,             -- set once the event is a node of a session DAG
  node_receipt_id  text,             -- its session.event receipt
  node_seq         bigint,           -- seq of that receipt: DAG node order
  attached_at      text COLLATE "C",
  PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX session_events_nodes ON session_events (tenant_id, node_session_id, node_seq) WHERE node_session_id IS NOT NULL;

-- One row per orphan.queued receipt: first deliveries waiting for their session, and repeated deliveries
-- recorded as discarded duplicates.
CREATE TABLE orphans (
  tenant_id             text COLLATE "C" NOT NULL,
  orphan_id             text COLLATE "C" NOT NULL, -- local id of its OrphanEventReceipt (urn:srcos:receipt:orphan-event:<id>)
  seq                   bigint NOT NULL,  -- seq of the orphan.queued receipt: queue order and list cursor
  queued_receipt_id     text NOT NULL,
  event_id              text NOT NULL,
  event_class           text NOT NULL,
  session_id            text,
  parent_id             text,
  conversation_id       text,
  workspace_ref         text,
  task_ref              text,
  payload_digest        text,
  raw_digest            text NOT NULL,
  state                 text NOT NULL,    -- queued | recovered | quarantined | discarded_duplicate
  candidates            text NOT NULL,    -- JSON array of session ids, sorted
  observed_at           text COLLATE "C" NOT NULL,
  expires_at            bigint NOT NULL,  -- ms since epoch: quarantined when still queued after this
  resolved_at           text COLLATE "C",
  resolution_receipt_id text,             -- orphan.recovered | orphan.quarantined | orphan.discarded_duplicate
  node_receipt_id       text,             -- the session.event it became, when recovered
  recovered_session_id  text,
  duplicate_of          text,             -- orphan_id of the first delivery, for a discarded duplicate
  document              text NOT NULL,    -- the latest OrphanEventReceipt, canonical JSON
  PRIMARY KEY (tenant_id, orphan_id)
);
-- The correlation lookups of reconciliation: only queued orphans are indexed, so they cost what is waiting.
CREATE INDEX orphans_queued_session ON orphans (tenant_id, session_id, seq) WHERE state = 'queued' AND session_id IS NOT NULL;
CREATE INDEX orphans_queued_conversation ON orphans (tenant_id, conversation_id, seq) WHERE state = 'queued' AND conversation_id IS NOT NULL;
CREATE INDEX orphans_queued_workspace ON orphans (tenant_id, workspace_ref, seq) WHERE state = 'queued' AND workspace_ref IS NOT NULL;
CREATE INDEX orphans_queued_task ON orphans (tenant_id, task_ref, seq) WHERE state = 'queued' AND task_ref IS NOT NULL;
CREATE INDEX orphans_queued_parent ON orphans (tenant_id, parent_id, seq) WHERE state = 'queued' AND parent_id IS NOT NULL;
-- The sweeper's question, across tenants: which queued orphans have run out of time? (Ties in key order, as the
-- SQLite index returns them.)
CREATE INDEX orphans_expiry ON orphans (expires_at, tenant_id, orphan_id) WHERE state = 'queued';
-- GET /v1/orphans?state=...
CREATE INDEX orphans_state ON orphans (tenant_id, state, seq);
CREATE INDEX orphans_seq ON orphans (tenant_id, seq);
