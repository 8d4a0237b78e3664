import type { AutomationSessionRow } from '../../automation/types.js';

export const AUTOMATION_SESSION_COLUMNS =
  'tenant_id, automation_id, session_ref, owner_ref, capability_ref, state, permission_scope, document, start_receipt_id, start_seq, end_receipt_id, actions_executed, actions_denied, started_at, ended_at';

/** An automation_sessions row as the store reads it: JSON columns as text. */
export interface RawAutomationSession extends Omit<AutomationSessionRow, 'permission_scope' | 'document' | 'state'> {
  state: string;
  permission_scope: string;
  document: string;
}

export function automationSessionFromRaw(r: RawAutomationSession): AutomationSessionRow {
  return {
    ...r,
    state: r.state as AutomationSessionRow['state'],
    permission_scope: JSON.parse(r.permission_scope),
    document: JSON.parse(r.document),
  };
}

/** Every column in AUTOMATION_SESSION_COLUMNS order. */
export function automationSessionValues(r: AutomationSessionRow): unknown[] {
  return [
    r.tenant_id, r.automation_id, r.session_ref, r.owner_ref, r.capability_ref, r.state, JSON.stringify(r.permission_scope),
    JSON.stringify(r.document), r.start_receipt_id, r.start_seq, r.end_receipt_id, r.actions_executed, r.actions_denied, r.started_at, r.ended_at,
  ];
}
