-- Evidence (content-addressed blobs) and runtime installs (DESIGN §8). Mirrors
-- migrations/sqlite/0006_evidence_runtime.sql (conventions as in 0001_ledger.sql), plus the bytes themselves:
-- every server of a deployment must read every blob, and the database is the one thing they all share.

-- The bytes, one row per distinct content whatever the number of tenants that put it. Which tenant may see a blob
-- is the evidence table below, never this one. bytea is TOASTed (compressed and stored out of line) past ~2 kB.
CREATE TABLE evidence_blobs (
  digest     text PRIMARY KEY,  -- sha256:<64 lower-case hex> of bytes
  size_bytes bigint NOT NULL,
  bytes      bytea NOT NULL
);

-- Which tenant holds which blob; a tenant sees only the blobs it has a row for.
CREATE TABLE evidence (
  tenant_id    text NOT NULL,
  digest       text NOT NULL,     -- sha256:<64 lower-case hex> of the bytes
  size_bytes   bigint NOT NULL,
  content_type text,              -- as the first put of this tenant sent it; NULL when none was sent
  created_at   text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, digest)
);

-- One row per runtime on one target: the head of its chain of runtime.install receipts. Each state change is a
-- receipt whose parent is the previous head; an identical repeat (same manifest digest and state) writes nothing.
-- A write moving a head reads it FOR UPDATE (after the tenant's chain head), so two servers extend a chain one
-- after the other and never fork it.
CREATE TABLE runtime_installs (
  tenant_id        text NOT NULL,
  install_id       text NOT NULL,   -- receipt_id of the chain's first receipt
  runtime_ref      text NOT NULL,
  target_ref       text NOT NULL,
  head_receipt_id  text NOT NULL,
  head_document_id text NOT NULL,   -- id of the head's RuntimeInstallReceipt document
  install_state    text NOT NULL,
  manifest_digest  text NOT NULL,
  started_at       text COLLATE "C" NOT NULL,   -- startedAt of the head's document
  links            integer NOT NULL,
  updated_at       text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, install_id)
);
CREATE UNIQUE INDEX runtime_installs_target ON runtime_installs (tenant_id, runtime_ref, target_ref);
