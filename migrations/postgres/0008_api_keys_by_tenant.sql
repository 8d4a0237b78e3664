-- A tenant's keys (`quittance key list`) are read by tenant, oldest first: an index in that order instead of a scan
-- of every tenant's keys and a sort. Mirrors migrations/sqlite/0009_api_keys_by_tenant.sql; key_id in byte order,
-- as the query sorts it.
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at, key_id COLLATE "C");
