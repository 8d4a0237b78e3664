/** Shapes of the capability and browser automation API (DESIGN §8), as the client sees them. */
import type { Receipt } from '../ledger/types.js';
import type { CapabilityEventView, CapabilityMatrixRow, CapabilityView } from '../capabilities/views.js';
import type { AutomationSessionView } from '../automation/views.js';
import type { EffectiveState, Plane, PlaneStatus } from '../capabilities/types.js';
import type { ControlledScope, DenialReason, Origin, TerminalState, Transport } from '../automation/types.js';

export type { CapabilityEventView, CapabilityMatrixRow, CapabilityView, AutomationSessionView, EffectiveState, Plane, PlaneStatus, TerminalState, DenialReason };

export interface DeclareCapability {
  /** urn:srcos:capability:<name>@<version> */
  capabilityRef: string;
  declaredBy: Plane[];
  requiredPlanes: Plane[];
  optionalPlanes?: Plane[];
  /** urn:srcos:session:<id>: a session requests the capability. */
  sessionRef?: string | null;
}

export interface PlaneReport {
  status: PlaneStatus;
  reason?: string;
  evidenceRefs: string[];
  /** Required when the policy plane reports. */
  policyDecisionRef?: string;
}

export interface CapabilityAnswer {
  capability: CapabilityView;
  /** The capability.ledger receipt, when the effective state (or the declaration) changed. */
  receipt?: Receipt;
}

export interface ObservationAnswer {
  observation: CapabilityEventView;
  /** The surface claimed enabled while the effective state is something else. */
  splitBrain: boolean;
  effectiveState: EffectiveState;
  /** The capability_split_brain anomaly. */
  anomaly?: Receipt;
}

export interface StartAutomation {
  sessionRef: string;
  ownerRef: string;
  capabilityRef: string;
  transport: Transport;
  permissionScope: string[];
  origin: Origin;
  controlledScope?: Partial<ControlledScope> | null;
  policyDecisionRef?: string;
  evidenceRefs?: string[];
}

export interface AutomationAnswer {
  session: AutomationSessionView;
  receipt: Receipt;
}

export interface AutomationEndAnswer extends AutomationAnswer {
  /** duplicate: the session had already ended this way; the stored receipt is answered. */
  status: 'ended' | 'duplicate';
}
