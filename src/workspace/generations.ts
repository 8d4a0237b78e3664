/**
 * Per-workspace generations, for `operation_superseded`.
 *
 * Every classification takes a ticket from one process-wide counter when it starts. When it has found its
 * workspace (the workspace's identity is only known after discovery), it records the ticket under that workspace.
 * A classification is superseded when a higher ticket is recorded for its workspace: a newer classification of the
 * same workspace started after it. Because tickets are taken at the start, a slow old probe that finishes after a
 * quick new one is superseded at once, not the other way round.
 *
 * Memory is bounded: past `maxWorkspaces`, the least recently recorded workspace is forgotten and its newest ticket
 * raises a floor. A classification of a forgotten workspace older than the floor is reported superseded: when we
 * can no longer prove a result is current, we ask the caller to classify again rather than vouch for it.
 */
export class WorkspaceGenerations {
  private readonly newest = new Map<string, number>();
  private nextTicket = 1;
  private forgottenFloor = 0;

  constructor(private readonly maxWorkspaces = 10_000) {}

  /** A new ticket, higher than every ticket handed out before. */
  take(): number {
    return this.nextTicket++;
  }

  /** Records `ticket` for `workspaceKey`; returns the newest ticket known for it (possibly a newer one). */
  record(workspaceKey: string, ticket: number): number {
    const known = this.newestFor(workspaceKey);
    const newest = Math.max(known, ticket);
    this.newest.delete(workspaceKey); // re-insert: Map order doubles as recency order
    this.newest.set(workspaceKey, newest);
    if (this.newest.size > this.maxWorkspaces) {
      const oldest = this.newest.entries().next();
      if (oldest.done !== true) {
        this.newest.delete(oldest.value[0]);
        this.forgottenFloor = Math.max(this.forgottenFloor, oldest.value[1]);
      }
    }
    return newest;
  }

  /** The newest ticket recorded for a workspace (or the floor, if it was forgotten). */
  newestFor(workspaceKey: string): number {
    return this.newest.get(workspaceKey) ?? this.forgottenFloor;
  }

  isSuperseded(workspaceKey: string, ticket: number): boolean {
    return this.newestFor(workspaceKey) > ticket;
  }

  get trackedWorkspaces(): number {
    return this.newest.size;
  }
}
