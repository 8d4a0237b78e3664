-- Stamps (DESIGN §6): the deployment's signing keys and the stamp projection. Mirrors
-- migrations/sqlite/0003_stamps.sql (conventions as in 0001_ledger.sql: RFC 3339 text times, COLLATE "C" where rows
-- are ordered, JSON as text). Needs only 0001 (the receipts index at the end).
--
-- Two servers: every write that reads or changes a stamp locks the tenant's chain head first and then the row
-- (SELECT ... FOR UPDATE), so closers, rotations and the TTL sweep of one stamp take turns. Signing keys belong to
-- the deployment, not to a tenant: a write that signs with the current key holds it FOR SHARE, so a key rotation
-- (which locks it FOR UPDATE) waits for tokens being signed with it and sees their stamps (src/store/postgres/stamps.ts).

-- Ed25519 keys that sign stamp tokens and status lists, one set per deployment (per schema), not per tenant.
-- role: 'next' (published in the JWKS ahead of use, so verifiers already hold it when it starts signing),
-- 'current' (signs every new token), 'retired' (signs nothing; stays in the JWKS until verify_until_ms, the
-- last expiry of a stamp it signed, so old tokens verify under their kid until their stamps end).
CREATE TABLE signing_keys (
  kid             text COLLATE "C" PRIMARY KEY,  -- RFC 7638 thumbprint (base64url); JWKS order tie-break
  alg             text NOT NULL,   -- EdDSA
  public_jwk      text NOT NULL,   -- JSON {kty: OKP, crv: Ed25519, x}
  private_pkcs8   text NOT NULL,   -- base64 of the PKCS#8 DER private key, as on SQLite
  role            text NOT NULL CHECK (role IN ('next', 'current', 'retired')),
  created_at      text COLLATE "C" NOT NULL,
  retired_at      text COLLATE "C",
  verify_until_ms bigint
);
-- At most one current and one next key: two servers creating the first keys at once cannot both succeed (the
-- loser's INSERT ... ON CONFLICT (role) WHERE role <> 'retired' DO NOTHING writes nothing).
CREATE UNIQUE INDEX signing_keys_role ON signing_keys (role) WHERE role <> 'retired';

-- One row per stamp: its current generation and whether a tombstone closed it. The receipts are the history;
-- this is the projection introspection, the status list and the TTL sweep read.
CREATE TABLE stamps (
  tenant_id            text NOT NULL,
  stamp_id             text COLLATE "C" NOT NULL,
  subject              text NOT NULL,   -- canonical JSON principal the stamp was issued to
  task_ref             text NOT NULL,
  scope                text NOT NULL,   -- JSON array of scope tokens
  task_id              text,
  lease_id             text,
  worker               text,
  minted_receipt_id    text NOT NULL,   -- the stamp.minted obligation
  status_idx           bigint NOT NULL, -- seq of stamp.minted: this stamp's slot in the tenant's status list
  generation           integer NOT NULL,
  kid                  text NOT NULL,   -- key that signed the current generation
  issued_at            text COLLATE "C" NOT NULL,
  expires_at           text COLLATE "C" NOT NULL,
  expires_ms           bigint NOT NULL,
  state                text NOT NULL CHECK (state IN ('active', 'tombstoned', 'ambiguous')),
  outcome              text,            -- completed | crashed | timeout | revoked, once tombstoned
  closed_by            text,            -- subject | gate | operator
  closed_reason        text,
  tombstoned_at        text COLLATE "C",
  tombstone_receipt_id text,
  late                 boolean NOT NULL DEFAULT false, -- the tombstone came after the TTL
  ambiguous_at         text COLLATE "C",
  anomaly_receipt_id   text,            -- the missing_tombstone anomaly, kept after a late tombstone
  anomaly_seq          bigint,
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
