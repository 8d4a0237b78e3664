-- Stored SourceOS contracts: contract id (the document's URN) → the contract.object receipt carrying it. Mirrors
-- migrations/sqlite/0007_contracts.sql (conventions as in 0001_ledger.sql).

CREATE TABLE contracts (
  tenant_id    text NOT NULL,
  contract_id  text NOT NULL,     -- the document's id, a URN
  type         text NOT NULL,     -- the document's type (its schema)
  content_hash text NOT NULL,     -- sha256 hex of the document as canonical JSON: same id + same hash is a retry
  receipt_id   text NOT NULL,
  seq          bigint NOT NULL,   -- the receipt's seq: list order and cursor
  PRIMARY KEY (tenant_id, contract_id)
);
CREATE INDEX contracts_seq ON contracts (tenant_id, seq);
CREATE INDEX contracts_type ON contracts (tenant_id, type, seq);
