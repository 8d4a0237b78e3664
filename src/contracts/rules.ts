/**
 * The semantic rules of DESIGN §9 that JSON Schema cannot say: conditions between fields (a quarantined orphan
 * needs quarantinedAt), order between timestamps, and session ownership within one document and across a set of
 * documents. They run after a document passed its schema, so they may rely on its shape.
 *
 * The rules that JSON Schema can say live in the schemas themselves (policyDecisionRef and effectiveState are
 * `required`, rawPathStored is `const: false`), so anyone holding only the schema files checks them too.
 */
import type { ContractError } from './messages.js';
import type { ContractTypeMap, ContractTypeName } from './types.js';

export interface SemanticRule {
  /** Stable id; examples name the rule they break by it. */
  id: string;
  /** The schema whose documents the rule checks. */
  type: ContractTypeName;
  /** Reported as the `keyword` of the errors the rule raises. */
  keyword: string;
  description: string;
  /** Appends this rule's errors for one schema-valid document. */
  check(doc: unknown, errors: ContractError[]): void;
}

function rule<T extends ContractTypeName>(
  type: T, id: string, keyword: string, description: string, check: (doc: ContractTypeMap[T], errors: ContractError[]) => void,
): SemanticRule {
  return Object.freeze({ id, type, keyword, description, check: check as (doc: unknown, errors: ContractError[]) => void });
}

/** Milliseconds of an RFC 3339 date-time the schema already accepted (which allows a lower-case t and z). */
function instant(s: string): number {
  return Date.parse(s.toUpperCase());
}

/** later must not be before start. Both are schema-valid date-times; a leap second (…:60) parses as NaN and is let through. */
function notBefore(errors: ContractError[], path: string, later: string, startName: string, start: string): void {
  if (instant(later) < instant(start)) errors.push({ path, keyword: 'notBefore', message: `must not be before ${startName} (${start})` });
}

/** Absent and null alike mean "not given": a request omits the other one, the server's answers show it as null. */
function exclusivePayload(errors: ContractError[], at: string, v: { payload?: unknown; payload_ref?: unknown }): void {
  if (v.payload != null && v.payload_ref != null) {
    errors.push({ path: `${at}/payload_ref`, keyword: 'exclusive', message: 'must not be given together with payload: the input is either inline or by reference' });
  }
}

export const SEMANTIC_RULES: readonly SemanticRule[] = Object.freeze([
  rule('OrphanEventReceipt', 'orphan-recovered-needs-session', 'requiredWhen',
    'A recovered orphan event names the session it was attached to: sessionResolution.recoveredSessionRef is not null when state is recovered.',
    (d, errors) => {
      if (d.sessionResolution.state === 'recovered' && d.sessionResolution.recoveredSessionRef === null) {
        errors.push({ path: '/sessionResolution/recoveredSessionRef', keyword: 'requiredWhen', message: 'required when state is recovered' });
      }
    }),
  rule('OrphanEventReceipt', 'orphan-quarantined-needs-time', 'requiredWhen',
    'A quarantined orphan event says when it was quarantined: sessionResolution.quarantinedAt is not null when state is quarantined.',
    (d, errors) => {
      if (d.sessionResolution.state === 'quarantined' && d.sessionResolution.quarantinedAt === null) {
        errors.push({ path: '/sessionResolution/quarantinedAt', keyword: 'requiredWhen', message: 'required when state is quarantined' });
      }
    }),
  rule('BrowserAutomationReceipt', 'automation-revoked-after-start', 'notBefore',
    'A browser automation session cannot be revoked before it started: revokedAt is not before startedAt.',
    (d, errors) => {
      if (typeof d.revokedAt === 'string') notBefore(errors, '/revokedAt', d.revokedAt, 'startedAt', d.startedAt);
    }),
  rule('BrowserAutomationReceipt', 'automation-captured-after-start', 'notBefore',
    'A browser automation receipt cannot be captured before its session started: capturedAt is not before startedAt.',
    (d, errors) => notBefore(errors, '/capturedAt', d.capturedAt, 'startedAt', d.startedAt)),
  rule('RuntimeInstallReceipt', 'install-captured-after-start', 'notBefore',
    'A runtime install receipt cannot be captured before the install started: capturedAt is not before startedAt.',
    (d, errors) => notBefore(errors, '/capturedAt', d.capturedAt, 'startedAt', d.startedAt)),
  rule('RuntimeInstallReceipt', 'install-finished-after-start', 'notBefore',
    'An install cannot finish before it started: finishedAt is not before startedAt.',
    (d, errors) => {
      if (typeof d.finishedAt === 'string') notBefore(errors, '/finishedAt', d.finishedAt, 'startedAt', d.startedAt);
    }),
  rule('CapabilityLedger', 'session-single-owner', 'sessionOwnership',
    'A session has exactly one owner: a capability record scoped to a session (sessionRef set) lists at most one ownerRef.',
    (d, errors) => {
      const owners = d.ownerRefs;
      if (typeof d.sessionRef === 'string' && owners !== undefined && owners.length > 1) {
        errors.push({
          path: '/ownerRefs/1',
          keyword: 'sessionOwnership',
          message: `ambiguous session ownership: session ${d.sessionRef} is claimed by ${owners.length} owners (${owners.join(', ')}); a session has exactly one owner`,
        });
      }
    }),
  rule('Task', 'task-payload-exclusive', 'exclusive', 'A task carries its input inline (payload) or by reference (payload_ref), not both.',
    (d, errors) => exclusivePayload(errors, '', d)),
  rule('TaskCreate', 'task-create-payload-exclusive', 'exclusive', 'A new task carries its input inline (payload) or by reference (payload_ref), not both.',
    (d, errors) => exclusivePayload(errors, '', d)),
  rule('LeaseClaimResponse', 'lease-payload-exclusive', 'exclusive', 'A granted lease hands over the input inline (payload) or by reference (payload_ref), not both.',
    (d, errors) => d.leases.forEach((l, i) => exclusivePayload(errors, `/leases/${i}`, l))),
]);

/** The rule across documents; reported with keyword sessionOwnership like its single-document sibling. */
export const CROSS_DOCUMENT_RULE = Object.freeze({
  id: 'session-single-owner-across-documents',
  keyword: 'sessionOwnership',
  description: 'A session has exactly one owner across every document validated together: one sessionRef claimed by two different owners (BrowserAutomationReceipt.ownerRef, or the single ownerRef of a session-scoped CapabilityLedger) is ambiguous session ownership.',
});

export const RULES_BY_TYPE: ReadonlyMap<string, readonly SemanticRule[]> = (() => {
  const m = new Map<string, SemanticRule[]>();
  for (const r of SEMANTIC_RULES) {
    const list = m.get(r.type) ?? [];
    list.push(r);
    m.set(r.type, list);
  }
  return m;
})();

/** One document's claim that `owner` owns `session`, and where in the document the owner is named. */
export interface OwnershipClaim {
  session: string;
  owner: string;
  path: string;
}

/** The session ownership a schema-valid document claims, if any. */
export function ownershipClaim(type: string, doc: unknown): OwnershipClaim | undefined {
  if (type === 'BrowserAutomationReceipt') {
    const d = doc as ContractTypeMap['BrowserAutomationReceipt'];
    return { session: d.sessionRef, owner: d.ownerRef, path: '/ownerRef' };
  }
  if (type === 'CapabilityLedger') {
    const d = doc as ContractTypeMap['CapabilityLedger'];
    // Several owners are already refused by session-single-owner; a record with no owner claims nothing.
    if (typeof d.sessionRef === 'string' && d.ownerRefs?.length === 1) return { session: d.sessionRef, owner: d.ownerRefs[0]!, path: '/ownerRefs/0' };
  }
  return undefined;
}
