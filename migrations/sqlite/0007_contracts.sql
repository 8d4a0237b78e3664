-- Stored SourceOS contracts: contract id (the document's URN) → the contract.object receipt carrying it.

CREATE TABLE contracts (
  tenant_id    TEXT NOT NULL,
  contract_id  TEXT NOT NULL,     -- the document's id, a URN
  type         TEXT NOT NULL,     -- the document's type (its schema)
  content_hash TEXT NOT NULL,     -- sha256 hex of the document as canonical JSON: same id + same hash is a retry
  receipt_id   TEXT NOT NULL,
  seq          INTEGER NOT NULL,  -- the receipt's seq: list order and cursor
  PRIMARY KEY (tenant_id, contract_id)
) WITHOUT ROWID;
CREATE INDEX contracts_seq ON contracts (tenant_id, seq);
CREATE INDEX contracts_type ON contracts (tenant_id, type, seq);
