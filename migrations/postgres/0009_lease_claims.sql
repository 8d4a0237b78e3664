-- A claim whose answer was lost is sent again with the same claim_id (POST /v1/leases/claim): the leases it granted
-- are found by the worker and its claim_id and answered again, with new lease tokens, instead of waiting out their
-- TTL. NULL for leases granted by a claim that named no claim_id (and every lease granted before this migration).
-- Mirrors migrations/sqlite/0010_lease_claims.sql.
ALTER TABLE leases ADD COLUMN claim_id text;
CREATE INDEX leases_claim ON leases (tenant_id, worker_id, claim_id) WHERE claim_id IS NOT NULL;
