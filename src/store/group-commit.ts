/**
 * Group commit: writes that arrive together share one transaction and one fsync. One failing write is undone
 * alone and the others commit: each write runs in a savepoint of its own (or, where the backend allows it, the
 * batch first runs without, and runs again with savepoints only if a write failed). A write's promise settles
 * only once its transaction is durable.
 *
 * Durability may be decoupled from COMMIT (SQLite commits to the OS, then `sync()` fsyncs the WAL on the thread
 * pool): writes arriving while an fsync runs gather and commit together when it ends (or as soon as they fill a
 * batch), and a batch is acknowledged only after an fsync that started after its COMMIT returned.
 */
export interface GroupBackend<Tx> {
  /** Runs `body` inside one transaction and commits it when body resolves. */
  transaction(body: (tx: Tx) => Promise<void>): Promise<void>;
  /** Runs fn in a savepoint of the open transaction; rolls back to it when fn throws. */
  savepoint<T>(tx: Tx, fn: () => Promise<T>): Promise<T>;
  /** Makes every transaction committed so far durable. Omitted when COMMIT itself is durable. */
  sync?(): Promise<void>;
  /**
   * True when a write failed only because it could not run in this batch without risking a deadlock with another
   * server (PostgreSQL: a chain head another transaction holds). Its savepoint has been rolled back; the write
   * runs again first in the next batch, so its function must be safe to run twice (as a savepoint makes it).
   */
  deferred?(error: unknown): boolean;
  /**
   * True when a batch may first run without savepoints (SQLite: a savepoint copies every page its write changes
   * into the statement journal, ~15% of the task lifecycle's CPU). If any write then fails, the transaction is
   * rolled back and the batch runs again with a savepoint per write, so a write's function must be safe to run
   * twice after a rollback. A write that `deferred` would defer fails the run without savepoints, and the batch runs
   * again with them.
   */
  savepointsOnlyOnFailure?: boolean;
  /** With savepointsOnlyOnFailure: runs one write of the run without savepoints (default: just calls fn). */
  unguarded?<T>(tx: Tx, fn: () => Promise<T>): Promise<T>;
  /**
   * With savepointsOnlyOnFailure: whether a lone write that failed in the run without savepoints has its answer
   * (default true). False when that run takes shortcuts that only the run with savepoints answers for; the write
   * then runs again with a savepoint.
   */
  unguardedFailureIsFinal?: boolean;
}

/**
 * A commit whose outcome is not known (the connection broke while COMMIT was on its way): the batch must not run
 * again, it may have committed. Its writes are refused; a retry is idempotent.
 */
export class CommitOutcomeUnknown extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'CommitOutcomeUnknown';
  }
}

interface PendingOp<Tx> {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Outcome {
  ok: boolean;
  value: unknown;
  deferred?: true;
}

/** After a batch had to run again with savepoints, this many batches use savepoints from the start. */
const CAUTIOUS_BATCHES = 8;

export class GroupCommitter<Tx> {
  private queue: PendingOp<Tx>[] = [];
  private flushing = false;
  /** 'now': a flush is queued with setImmediate; 'after-sync': one will be once the running fsync ends. */
  private scheduled: false | 'now' | 'after-sync' = false;
  private syncing: Promise<void> | undefined;
  private nextSync: Promise<void> | undefined;
  private inFlight = 0;
  /** Batches still to run with savepoints from the start (see savepointsOnlyOnFailure). */
  private cautious = 0;

  constructor(private readonly backend: GroupBackend<Tx>, private readonly maxOpsPerCommit: number) {}

  submit<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far has been committed durably or rejected. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing || this.scheduled || this.inFlight > 0) {
      await new Promise((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.flushing || this.scheduled === 'now') return;
    const syncing = this.syncing;
    if (syncing && this.queue.length < this.maxOpsPerCommit) {
      // An fsync is running. Whatever commits now can only be acknowledged after the fsync that follows it, so
      // committing at once gains no latency; letting writes gather until the fsync ends and committing them
      // together writes each shared index page once instead of once per commit (measured on the task lifecycle:
      // every commit rewrote the same ~40 principal, type and table pages).
      if (this.scheduled === 'after-sync') return;
      this.scheduled = 'after-sync';
      void syncing.catch(() => undefined).then(() => {
        if (this.scheduled !== 'after-sync') return;
        this.scheduled = false;
        this.schedule();
      });
      return;
    }
    this.scheduled = 'now';
    // setImmediate, not a microtask: lets every request that is already readable join this commit.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    const batch = this.queue.splice(0, this.maxOpsPerCommit);
    const outcomes: Outcome[] = [];
    let durable: Promise<void> | undefined;
    try {
      await this.run(batch, outcomes);
      // Start (or queue) this batch's fsync before scheduling the next batch, so the next one sees it running.
      durable = this.durable();
    } catch (e) {
      // The commit itself failed: nothing in this batch is durable, so nobody gets an acknowledgement.
      batch.forEach((op, i) => (outcomes[i]?.deferred ? undefined : op.reject(e)));
    } finally {
      this.queue.unshift(...batch.filter((_, i) => outcomes[i]?.deferred));
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
    }
    if (!durable) return;
    this.inFlight++;
    try {
      await durable;
      batch.forEach((op, i) => {
        const o = outcomes[i]!;
        if (o.deferred) return;
        if (o.ok) op.resolve(o.value);
        else op.reject(o.value);
      });
    } catch (e) {
      // Committed but not known to be durable: acknowledge nothing (a retry is idempotent).
      batch.forEach((op, i) => (outcomes[i]!.deferred ? undefined : op.reject(e)));
    } finally {
      this.inFlight--;
    }
  }

  /** Runs the batch in one transaction, filling in each write's outcome; rejects when the commit failed. */
  private async run(batch: PendingOp<Tx>[], outcomes: Outcome[]): Promise<void> {
    if (this.backend.savepointsOnlyOnFailure && this.cautious === 0) {
      const unguarded = this.backend.unguarded?.bind(this.backend);
      try {
        await this.backend.transaction(async (tx) => {
          for (const op of batch) outcomes.push({ ok: true, value: await (unguarded ? unguarded(tx, () => op.fn(tx)) : op.fn(tx)) });
        });
        return;
      } catch (e) {
        if (e instanceof CommitOutcomeUnknown) throw e;
        // A write failed, or the commit did: everything is rolled back. A lone write that failed has its answer
        // (unless the backend says otherwise); else the batch runs again, each write in a savepoint, so that only a
        // failing one is refused.
        if (batch.length === 1 && outcomes.length === 0 && this.backend.unguardedFailureIsFinal !== false) {
          outcomes.push({ ok: false, value: e });
          return;
        }
        outcomes.length = 0;
        this.cautious = CAUTIOUS_BATCHES;
      }
    } else if (this.cautious > 0) {
      this.cautious--;
    }
    await this.backend.transaction(async (tx) => {
      for (const op of batch) {
        try {
          outcomes.push({ ok: true, value: await this.backend.savepoint(tx, () => op.fn(tx)) });
        } catch (e) {
          outcomes.push(this.backend.deferred?.(e) ? { ok: false, value: e, deferred: true } : { ok: false, value: e });
        }
      }
    });
  }

  /** Resolves after an fsync that started after this call: coalesces waiters onto the next fsync. */
  private durable(): Promise<void> {
    const sync = this.backend.sync?.bind(this.backend);
    if (!sync) return Promise.resolve();
    if (!this.syncing) {
      const p: Promise<void> = sync().finally(() => {
        if (this.syncing === p) this.syncing = undefined;
      });
      this.syncing = p;
      return p;
    }
    if (!this.nextSync) {
      const p: Promise<void> = this.syncing.catch(() => undefined).then(() => {
        this.nextSync = undefined;
        const s: Promise<void> = sync().finally(() => {
          if (this.syncing === s) this.syncing = undefined;
        });
        this.syncing = s;
        return s;
      });
      this.nextSync = p;
    }
    return this.nextSync;
  }
}
