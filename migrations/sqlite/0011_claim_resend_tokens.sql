-- A claim sent again with its claim_id (POST /v1/leases/claim) answers each lease it granted with a new lease token.
-- The worker may end up holding any one of those answers: a resend may be processed before the original it repeats
-- (the original held up on its way), so the answer the worker waits for is not always the last one written. Every
-- token a claim answered therefore stays good for the lease: token_hash keeps the first, and this column the sha256
-- hashes (hex) of the tokens its resends answered, separated by spaces, oldest first, at most 16. NULL: none.
ALTER TABLE leases ADD COLUMN resent_token_hashes TEXT;
