-- Session ownership claimed by stored contracts (POST /v1/contracts): a BrowserAutomationReceipt's ownerRef, or the
-- single ownerRef of a session-scoped CapabilityLedger, owns its sessionRef. A session has exactly one owner
-- (DESIGN §7, §9): the first stored document claiming a session records its owner here, and a later document naming
-- another owner for it is refused. Filled from the contracts already stored, the oldest claim first.

CREATE TABLE contract_session_owners (
  tenant_id    TEXT NOT NULL,
  session_ref  TEXT NOT NULL,     -- the sessionRef, a URN
  owner_ref    TEXT NOT NULL,     -- its one owner
  contract_id  TEXT NOT NULL,     -- the stored document that claimed it first
  PRIMARY KEY (tenant_id, session_ref)
) WITHOUT ROWID;

INSERT OR IGNORE INTO contract_session_owners (tenant_id, session_ref, owner_ref, contract_id)
SELECT c.tenant_id,
       json_extract(r.body, '$.document.sessionRef'),
       CASE c.type WHEN 'BrowserAutomationReceipt' THEN json_extract(r.body, '$.document.ownerRef') ELSE json_extract(r.body, '$.document.ownerRefs[0]') END,
       c.contract_id
  FROM contracts c JOIN receipts r ON r.tenant_id = c.tenant_id AND r.seq = c.seq
 WHERE json_type(r.body, '$.document.sessionRef') = 'text'
   AND (c.type = 'BrowserAutomationReceipt'
        OR (c.type = 'CapabilityLedger' AND json_type(r.body, '$.document.ownerRefs') = 'array' AND json_array_length(r.body, '$.document.ownerRefs') = 1))
 ORDER BY c.tenant_id, c.seq;
