-- A tenant's keys (`quittance key list`) are read by tenant, oldest first: an index in that order instead of a scan
-- of every tenant's keys and a sort.
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at, key_id);
