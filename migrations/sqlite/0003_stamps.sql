-- Stamps (DESIGN §6): the deployment's signing keys and the stamp projection. Plain SQL that PostgreSQL accepts
-- as written (BIGINT for millisecond times, partial indexes), so migrations/postgres/0003_stamps.sql can mirror it.

-- Ed25519 keys that sign stamp tokens and status lists, one set per deployment (not per tenant).
-- role: 'next' (published in the JWKS ahead of use, so verifiers already hold it when it starts signing),
-- 'current' (signs every new token), 'retired' (signs nothing; stays in the JWKS until verify_until_ms, the
-- last expiry of a stamp it signed, so old tokens verify under their kid until their stamps end).
CREATE TABLE signing_keys (
  kid             TEXT PRIMARY KEY,
  alg             TEXT NOT NULL,   -- EdDSA
  public_jwk      TEXT NOT NULL,   -- JSON {kty: OKP, crv: Ed25519, x}
  private_pkcs8   TEXT NOT NULL,   -- base64 of the PKCS#8 DER private key
  role            TEXT NOT NULL CHECK (role IN ('next', 'current', 'retired')),
  created_at      TEXT NOT NULL,
  retired_at      TEXT,
  verify_until_ms BIGINT
);
-- At most one current and one next key: two servers creating the first keys at once cannot both succeed.
CREATE UNIQUE INDEX signing_keys_role ON signing_keys (role) WHERE role <> 'retired';

-- One row per stamp: its current generation and whether a tombstone closed it. The receipts are the history;
-- this is the projection introspection, the status list and the TTL sweep read.
CREATE TABLE stamps (
  tenant_id            TEXT NOT NULL,
  stamp_id             TEXT NOT NULL,
  subject              TEXT NOT NULL,   -- canonical JSON principal the stamp was issued to
  task_ref             TEXT NOT NULL,
  scope                TEXT NOT NULL,   -- JSON array of scope tokens
  task_id              TEXT,
  lease_id             TEXT,
  worker               TEXT,
  minted_receipt_id    TEXT NOT NULL,   -- the stamp.minted obligation
  status_idx           BIGINT NOT NULL, -- seq of stamp.minted: this stamp's slot in the tenant's status list
  generation           INTEGER NOT NULL,
  kid                  TEXT NOT NULL,   -- key that signed the current generation
  issued_at            TEXT NOT NULL,
  expires_at           TEXT NOT NULL,
  expires_ms           BIGINT NOT NULL,
  state                TEXT NOT NULL CHECK (state IN ('active', 'tombstoned', 'ambiguous')),
  outcome              TEXT,            -- completed | crashed | timeout | revoked, once tombstoned
  closed_by            TEXT,            -- subject | gate | operator
  closed_reason        TEXT,
  tombstoned_at        TEXT,
  tombstone_receipt_id TEXT,
  late                 INTEGER NOT NULL DEFAULT 0, -- 1: the tombstone came after the TTL
  ambiguous_at         TEXT,
  anomaly_receipt_id   TEXT,            -- the missing_tombstone anomaly, kept after a late tombstone
  anomaly_seq          BIGINT,
  PRIMARY KEY (tenant_id, stamp_id)
);
-- The TTL sweep's work list: only stamps still waiting for a tombstone.
CREATE INDEX stamps_active_expiry ON stamps (expires_ms) WHERE state = 'active';
-- GET /v1/investigations: ambiguous stamps in the order they were flagged.
CREATE INDEX stamps_ambiguous ON stamps (tenant_id, anomaly_seq) WHERE state = 'ambiguous';
-- The status list covers a tenant's stamps whose TTL has not passed (older tokens fail their own exp check).
CREATE INDEX stamps_live ON stamps (tenant_id, expires_ms);

-- A stamp's history (GET /v1/stamps/{id}, investigations) without scanning the tenant's receipts.
CREATE INDEX receipts_stamp ON receipts (tenant_id, stamp_id, seq) WHERE stamp_id IS NOT NULL;
