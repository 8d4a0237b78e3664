-- Evidence (content-addressed blobs) and runtime installs (DESIGN §8).

-- Which tenant holds which blob. The bytes live outside the database (SQLite: files under <data dir>/evidence,
-- named by digest, shared by every tenant that put the same bytes); a tenant sees only the blobs it has a row for.
CREATE TABLE evidence (
  tenant_id    TEXT NOT NULL,
  digest       TEXT NOT NULL,     -- sha256:<64 lower-case hex> of the bytes
  size_bytes   INTEGER NOT NULL,
  content_type TEXT,              -- as the first put of this tenant sent it; NULL when none was sent
  created_at   TEXT NOT NULL,
  PRIMARY KEY (tenant_id, digest)
) WITHOUT ROWID;

-- One row per runtime on one target: the head of its chain of runtime.install receipts. Each state change is a
-- receipt whose parent is the previous head; an identical repeat (same manifest digest and state) writes nothing.
CREATE TABLE runtime_installs (
  tenant_id        TEXT NOT NULL,
  install_id       TEXT NOT NULL,   -- receipt_id of the chain's first receipt
  runtime_ref      TEXT NOT NULL,
  target_ref       TEXT NOT NULL,
  head_receipt_id  TEXT NOT NULL,
  head_document_id TEXT NOT NULL,   -- id of the head's RuntimeInstallReceipt document
  install_state    TEXT NOT NULL,
  manifest_digest  TEXT NOT NULL,
  started_at       TEXT NOT NULL,   -- startedAt of the head's document
  links            INTEGER NOT NULL,
  updated_at       TEXT NOT NULL,
  PRIMARY KEY (tenant_id, install_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX runtime_installs_target ON runtime_installs (tenant_id, runtime_ref, target_ref);
