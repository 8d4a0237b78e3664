-- Tasks and leases (DESIGN §5). A task is a row that changes; every change is also a receipt in the ledger.

CREATE TABLE tasks (
  tenant_id             TEXT NOT NULL,
  task_id               TEXT NOT NULL,
  type                  TEXT NOT NULL,
  payload               TEXT,              -- canonical JSON, or NULL when payload_ref is used
  payload_ref           TEXT,
  capabilities          TEXT NOT NULL,     -- JSON array, sorted: what a worker must have to claim it
  priority              INTEGER NOT NULL,  -- higher first
  status                TEXT NOT NULL,     -- queued | leased | running | succeeded | failed | canceled | escalated
  attempt               INTEGER NOT NULL,  -- the current execution attempt, from 1; only a failure advances it
  max_attempts          INTEGER NOT NULL,
  lease_expiries        INTEGER NOT NULL,
  max_lease_expiries    INTEGER NOT NULL,
  claims                INTEGER NOT NULL,
  retry_backoff_seconds REAL NOT NULL,
  next_eligible_at      INTEGER NOT NULL,  -- ms since epoch
  idempotency_key       TEXT,
  created_by            TEXT NOT NULL,     -- principal JSON
  assigned_to           TEXT NOT NULL,     -- principal JSON
  assigned_receipt_id   TEXT NOT NULL,     -- the task.assigned obligation
  queue_seq             INTEGER NOT NULL,  -- age order (seq of task.assigned)
  lease_id              TEXT,              -- the live lease, if any
  outcome               TEXT,              -- JSON: how it ended (final receipt id, error, ...)
  created_at            TEXT NOT NULL,
  updated_at            TEXT NOT NULL,
  PRIMARY KEY (tenant_id, task_id)
) WITHOUT ROWID;
-- Claim order: priority, then age. Only queued tasks are in the index, so it stays as small as the queue.
CREATE INDEX tasks_queue ON tasks (tenant_id, priority DESC, queue_seq) WHERE status = 'queued';
CREATE UNIQUE INDEX tasks_idempotency ON tasks (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_status ON tasks (tenant_id, status, queue_seq);

CREATE TABLE leases (
  tenant_id          TEXT NOT NULL,
  lease_id           TEXT NOT NULL,
  task_id            TEXT NOT NULL,
  worker_id          TEXT NOT NULL,
  token_hash         TEXT NOT NULL,     -- sha256 of the lease token; the token itself is shown once
  granted_receipt_id TEXT NOT NULL,     -- the lease.granted obligation
  attempt            INTEGER NOT NULL,
  state              TEXT NOT NULL,     -- active | released | expired | completed | failed | retry | canceled
  granted_at         INTEGER NOT NULL,  -- ms
  expires_at         INTEGER NOT NULL,  -- ms
  last_heartbeat_at  INTEGER NOT NULL,  -- ms: grant, renewal, start or progress
  renewals           INTEGER NOT NULL,
  stamp_id           TEXT,
  ended_at           INTEGER,
  PRIMARY KEY (tenant_id, lease_id)
) WITHOUT ROWID;
-- The sweeper's question, across tenants: which active leases have run out?
CREATE INDEX leases_expiry ON leases (expires_at) WHERE state = 'active';
