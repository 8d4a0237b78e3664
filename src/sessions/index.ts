/** Sessions, their event DAGs and orphan-event quarantine (DESIGN §7). */
export { Sessions, type Answer, type EventItemResult } from './engine.js';
export { SessionWrite, type Reconciliation, type Recovery, type StillQueued } from './write.js';
export { rankCandidates, type Candidate } from './candidates.js';
export { orphanDocument, orphanPolicyDecision, sessionRef, eventRef, dagNodeRef, orphanDocumentId } from './document.js';
export { soleOwner, sameOwner, ownerLabel } from './ownership.js';
export * from './types.js';
