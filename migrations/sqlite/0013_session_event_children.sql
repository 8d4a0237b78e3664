-- The events that name an event as their parent (its children in the session DAG): a new event is refused when it
-- would close a loop, which only events received before their parent can make, so the check looks down from the new
-- event through this index (src/sessions/lineage.ts) instead of walking up its whole chain of ancestors.
CREATE INDEX session_events_children ON session_events (tenant_id, parent_id) WHERE parent_id IS NOT NULL;
