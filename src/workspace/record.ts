/**
 * Recording a classification in the ledger (POST /v1/workspace/git-state): classify a path on this machine, then
 * append a `workspace.git_state` receipt carrying a valid GitWorkspaceState document. Only the document's facts
 * reach the receipt (digests and a redacted hint), never the path itself. Only paths under the configured
 * workspace roots are classified (roots.ts); every other path gets one indistinguishable refusal.
 */
import { isAbsolute } from 'node:path';
import { QuittanceError } from '../errors.js';
import type { Clock } from '../clock.js';
import { createUuidV7 } from '../ids.js';
import { assertValidDocument } from '../contracts/validate.js';
import type { GitWorkspaceState } from '../contracts/types.js';
import type { Ledger } from '../ledger/ledger.js';
import { LEDGER_PRINCIPAL, type Principal, type Receipt } from '../ledger/types.js';
import type { WorkspaceClassifier } from './classifier.js';
import type { WorkspaceRoots } from './roots.js';
import { buildGitWorkspaceState } from './document.js';
import type { CommandClass, WorkspaceOperation } from './types.js';

export interface GitStateRequest {
  /** An absolute path on the machine the ledger runs on. */
  path: string;
  operation?: WorkspaceOperation;
  commandClass?: CommandClass;
  runsGit?: boolean;
  sessionRef: string;
  capabilityLedgerRef: string;
  policyDecisionRef: string;
  /** Default: `urn:srcos:workspace:<workspace digest>`, the same for every path inside one worktree. */
  workspaceRef?: string;
  evidenceRefs?: string[];
  causalRefs?: string[];
  agentMachineReceiptRef?: string | null;
}

export interface RecordedGitState {
  receipt: Receipt;
  document: GitWorkspaceState;
}

/** What a workspace.git_state receipt's body holds. */
export interface GitStateBody {
  document: GitWorkspaceState;
}

export class GitStateRecorder {
  private readonly newId: () => string;

  constructor(
    private readonly ledger: Ledger,
    private readonly classifier: WorkspaceClassifier,
    private readonly clock: Clock,
    /** Where a caller's path may lead; anything else is refused before the classifier looks at it. */
    private readonly roots: WorkspaceRoots,
  ) {
    this.newId = createUuidV7(clock);
  }

  async record(tenantId: string, by: Principal, req: GitStateRequest): Promise<RecordedGitState> {
    this.roots.assertEnabled();
    // A relative path would be resolved against the server's working folder, which no client can know.
    if (typeof req.path !== 'string' || !isAbsolute(req.path)) {
      throw new QuittanceError('QUITTANCE_ERR_VALIDATION', ['path must be absolute: it is classified on the machine the ledger runs on']);
    }
    // The canonical path (no `..`, no symlinks) under a root: the classifier resolves it to itself.
    const classified = this.classifier.classify(this.roots.admit(req.path), {
      ...(req.operation !== undefined && { operation: req.operation }),
      ...(req.commandClass !== undefined && { commandClass: req.commandClass }),
      ...(req.runsGit !== undefined && { runsGit: req.runsGit }),
    });
    const id = this.newId();
    return this.ledger.store.write(async (tx) => {
      // Checked at the moment of writing: a newer classification of the same workspace makes this one superseded.
      const c = this.classifier.current(classified);
      const document = assertValidDocument(buildGitWorkspaceState(c, {
        id,
        sessionRef: req.sessionRef,
        capabilityLedgerRef: req.capabilityLedgerRef,
        workspaceRef: req.workspaceRef ?? `urn:srcos:workspace:${c.workspaceKey}`,
        policyDecisionRef: req.policyDecisionRef,
        evidenceRefs: req.evidenceRefs ?? [],
        capturedAt: this.clock.now(),
        ...(req.agentMachineReceiptRef !== undefined && { agentMachineReceiptRef: req.agentMachineReceiptRef }),
        ...(req.causalRefs !== undefined && { causalRefs: req.causalRefs }),
      }), { schema: 'GitWorkspaceState' });
      const body: GitStateBody = { document };
      const { receipt } = await this.ledger.appendInTx(
        tx, tenantId,
        { type: 'workspace.git_state', from: by, to: LEDGER_PRINCIPAL, body: body as unknown as Record<string, unknown> },
        { writer: 'workspace' },
      );
      return { receipt, document };
    });
  }
}
