-- Claims that name the task types they accept (accept_types) seek straight to those types' queued tasks instead of
-- walking the whole queue and reading every row to check its type. Partial: only queued tasks are in it.
CREATE INDEX tasks_queue_type ON tasks (tenant_id, type, priority DESC, queue_seq) WHERE status = 'queued';
