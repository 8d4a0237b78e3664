-- Session ownership claimed by stored contracts (POST /v1/contracts). Mirrors
-- migrations/sqlite/0012_contract_session_owners.sql, but holds the sha256 (hex, of the UTF-8) of the sessionRef and
-- of the owner instead of the text: a sessionRef has no length bound but the 64 KiB body (a PostgreSQL index entry
-- holds at most 2704 bytes).

CREATE TABLE contract_session_owners (
  tenant_id    text NOT NULL,
  session_hash text NOT NULL,     -- sha256 hex of the sessionRef
  owner_hash   text NOT NULL,     -- sha256 hex of its one owner
  contract_id  text NOT NULL,     -- the stored document that claimed it first
  PRIMARY KEY (tenant_id, session_hash)
);

-- Read as json, not jsonb, which refuses a \u0000 escape anywhere in a document (the API refuses U+0000 in a
-- request, so none should be stored). A claim whose refs would hold one is left out: it cannot be read as text.
INSERT INTO contract_session_owners (tenant_id, session_hash, owner_hash, contract_id)
WITH docs AS MATERIALIZED (
  SELECT c.tenant_id, c.contract_id, c.seq, c.type, r.body::json -> 'document' AS doc
    FROM contracts c JOIN receipts r ON r.tenant_id = c.tenant_id AND r.seq = c.seq
   WHERE c.type IN ('BrowserAutomationReceipt', 'CapabilityLedger')
), claims AS MATERIALIZED (
  SELECT tenant_id, contract_id, seq, doc -> 'sessionRef' AS session_json,
         CASE type WHEN 'BrowserAutomationReceipt' THEN doc -> 'ownerRef' ELSE doc -> 'ownerRefs' -> 0 END AS owner_json
    FROM docs
   WHERE json_typeof(doc -> 'sessionRef') = 'string'
     AND (type = 'BrowserAutomationReceipt'
          OR (json_typeof(doc -> 'ownerRefs') = 'array' AND json_array_length(doc -> 'ownerRefs') = 1))
), readable AS MATERIALIZED (
  SELECT * FROM claims
   WHERE json_typeof(owner_json) = 'string' AND strpos(session_json::text, '\u0000') = 0 AND strpos(owner_json::text, '\u0000') = 0
)
SELECT DISTINCT ON (tenant_id, session_hash) tenant_id, session_hash, owner_hash, contract_id
  FROM (
    SELECT tenant_id, contract_id, seq,
           encode(sha256(convert_to(session_json #>> '{}', 'UTF8')), 'hex') AS session_hash,
           encode(sha256(convert_to(owner_json #>> '{}', 'UTF8')), 'hex') AS owner_hash
      FROM readable
  ) h
 ORDER BY tenant_id, session_hash, seq;
