-- The receipt ledger: tenants, API keys, receipts, chain heads and the open-obligations projection.
-- Mirrors migrations/sqlite/0001_ledger.sql. Conventions for every PostgreSQL migration:
--   * Timestamps are RFC 3339 text exactly as the ledger wrote them: a receipt's created_at is hashed into its
--     chain_hash, so it must come back byte for byte (timestamptz would re-format it).
--   * Columns that are ordered or range-compared use COLLATE "C": byte order, like SQLite, whatever the
--     database's default collation is.
--   * JSON is stored as text, not jsonb: `quittance verify` needs the canonical text back byte for byte (jsonb
--     re-orders keys and re-formats numbers), and a row whose text was edited must be detectable.

CREATE TABLE tenants (
  tenant_id  text PRIMARY KEY,
  name       text COLLATE "C" NOT NULL UNIQUE,
  created_at text COLLATE "C" NOT NULL
);

CREATE TABLE api_keys (
  key_id      text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (tenant_id),
  secret_hash text NOT NULL,
  scopes      text NOT NULL,  -- comma-separated: read,write,admin
  label       text,
  created_at  text COLLATE "C" NOT NULL,
  revoked_at  text COLLATE "C"
);

-- One row per tenant: the sequencer. A write transaction locks it (SELECT ... FOR UPDATE) the first time it
-- touches the tenant and holds it to COMMIT, so appends from several servers take turns per tenant while a whole
-- group-committed batch pays for one lock.
CREATE TABLE chain_heads (
  tenant_id  text PRIMARY KEY,
  seq        bigint NOT NULL,
  chain_hash text NOT NULL
);

CREATE TABLE receipts (
  tenant_id        text NOT NULL,
  seq              bigint NOT NULL,
  receipt_id       text NOT NULL UNIQUE,
  type             text NOT NULL,
  from_kind        text NOT NULL,
  from_id          text NOT NULL,
  from_instance_id text,
  to_kind          text NOT NULL,
  to_id            text NOT NULL,
  to_instance_id   text,
  task_id          text,
  lease_id         text,
  stamp_id         text,
  session_id       text,
  parents          text NOT NULL,  -- JSON array, sorted
  body             text NOT NULL,  -- canonical JSON
  artifacts        text,           -- canonical JSON or NULL
  delivery_proof   text,           -- canonical JSON or NULL
  idempotency_key  text,
  created_at       text COLLATE "C" NOT NULL,
  hash             text NOT NULL,
  prev_hash        text NOT NULL,
  chain_hash       text NOT NULL,
  discharges       boolean NOT NULL,
  delivered_at     text COLLATE "C",  -- telemetry only, never read by control logic
  PRIMARY KEY (tenant_id, seq)
);
CREATE UNIQUE INDEX receipts_idempotency ON receipts (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX receipts_type ON receipts (tenant_id, type, seq);
CREATE INDEX receipts_task ON receipts (tenant_id, task_id, seq) WHERE task_id IS NOT NULL;
CREATE INDEX receipts_from ON receipts (tenant_id, from_kind, from_id, seq);
CREATE INDEX receipts_to ON receipts (tenant_id, to_kind, to_id, seq);
-- Identical content is stored once per tenant: the append rules check first, this makes it a guarantee. The hash
-- covers tenant_id, so it is unique on its own; a single-column unique index also tells the planner that a lookup
-- by hash finds one row, where every other index above only narrows to a tenant.
CREATE UNIQUE INDEX receipts_hash ON receipts (hash);

-- Every obligation ever opened; the partial indexes hold only the open ones, so listing them costs what is
-- open, not what the ledger holds.
CREATE TABLE obligations (
  tenant_id  text NOT NULL,
  receipt_id text NOT NULL,
  seq        bigint NOT NULL,
  type       text NOT NULL,
  to_kind    text NOT NULL,
  to_id      text NOT NULL,
  closed_by  text,
  closed_at  text COLLATE "C",
  PRIMARY KEY (tenant_id, receipt_id)
);
CREATE INDEX obligations_open ON obligations (tenant_id, seq) WHERE closed_by IS NULL;
CREATE INDEX obligations_open_to ON obligations (tenant_id, to_kind, to_id, seq) WHERE closed_by IS NULL;
