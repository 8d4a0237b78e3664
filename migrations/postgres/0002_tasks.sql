-- Tasks and leases (DESIGN §5). Mirrors migrations/sqlite/0002_tasks.sql. A task is a row that changes; every
-- change is also a receipt in the ledger. Times the engine computes with are ms since the epoch (bigint).

CREATE TABLE tasks (
  tenant_id             text NOT NULL,
  task_id               text NOT NULL,
  type                  text NOT NULL,
  payload               text,              -- canonical JSON, or NULL when payload_ref is used
  payload_ref           text,
  capabilities          text NOT NULL,     -- JSON array, sorted: what a worker must have to claim it
  priority              integer NOT NULL,  -- higher first
  status                text NOT NULL,     -- queued | leased | running | succeeded | failed | canceled | escalated
  attempt               integer NOT NULL,  -- the current execution attempt, from 1; only a failure advances it
  max_attempts          integer NOT NULL,
  lease_expiries        integer NOT NULL,
  max_lease_expiries    integer NOT NULL,
  claims                integer NOT NULL,
  retry_backoff_seconds double precision NOT NULL,
  next_eligible_at      bigint NOT NULL,   -- ms since epoch
  idempotency_key       text,
  created_by            text NOT NULL,     -- principal JSON
  assigned_to           text NOT NULL,     -- principal JSON
  assigned_receipt_id   text NOT NULL,     -- the task.assigned obligation
  queue_seq             bigint NOT NULL,   -- age order (seq of task.assigned)
  lease_id              text,              -- the live lease, if any
  outcome               text,              -- JSON: how it ended (final receipt id, error, ...)
  created_at            text COLLATE "C" NOT NULL,
  updated_at            text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, task_id)
);
-- Claim order: priority, then age. Only queued tasks are in the index, so it stays as small as the queue.
CREATE INDEX tasks_queue ON tasks (tenant_id, priority DESC, queue_seq) WHERE status = 'queued';
CREATE UNIQUE INDEX tasks_idempotency ON tasks (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_status ON tasks (tenant_id, status, queue_seq);

CREATE TABLE leases (
  tenant_id          text NOT NULL,
  lease_id           text NOT NULL,
  task_id            text NOT NULL,
  worker_id          text NOT NULL,
  token_hash         text NOT NULL,     -- sha256 of the lease token; the token itself is shown once
  granted_receipt_id text NOT NULL,     -- the lease.granted obligation
  attempt            integer NOT NULL,
  state              text NOT NULL,     -- active | released | expired | completed | failed | retry | canceled
  granted_at         bigint NOT NULL,   -- ms
  expires_at         bigint NOT NULL,   -- ms
  last_heartbeat_at  bigint NOT NULL,   -- ms: grant, renewal, start or progress
  renewals           integer NOT NULL,
  stamp_id           text,
  ended_at           bigint,
  PRIMARY KEY (tenant_id, lease_id)
);
-- The sweeper's question, across tenants: which active leases have run out?
CREATE INDEX leases_expiry ON leases (expires_at) WHERE state = 'active';
