/**
 * Group commit: writes that arrive together share one transaction and one fsync. Each write still runs in its
 * own savepoint, so one failing write is undone alone and the others commit. A write's promise settles only
 * after the shared COMMIT returned, i.e. after the data is durable.
 */
export interface GroupBackend<Tx> {
  /** Runs `body` inside one transaction and commits it (durably) when body resolves. */
  transaction(body: (tx: Tx) => Promise<void>): Promise<void>;
  /** Runs fn in a savepoint of the open transaction; rolls back to it when fn throws. */
  savepoint<T>(tx: Tx, fn: () => Promise<T>): Promise<T>;
}

interface PendingOp<Tx> {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class GroupCommitter<Tx> {
  private queue: PendingOp<Tx>[] = [];
  private flushing = false;
  private scheduled = false;

  constructor(private readonly backend: GroupBackend<Tx>, private readonly maxOpsPerCommit: number) {}

  submit<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far has been committed or rejected. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing || this.scheduled) {
      await new Promise((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate, not a microtask: lets every request that is already readable join this commit.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    const batch = this.queue.splice(0, this.maxOpsPerCommit);
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      await this.backend.transaction(async (tx) => {
        for (const op of batch) {
          try {
            outcomes.push({ ok: true, value: await this.backend.savepoint(tx, () => op.fn(tx)) });
          } catch (e) {
            outcomes.push({ ok: false, value: e });
          }
        }
      });
      batch.forEach((op, i) => {
        const o = outcomes[i]!;
        if (o.ok) op.resolve(o.value);
        else op.reject(o.value);
      });
    } catch (e) {
      // The commit itself failed: nothing in this batch is durable, so nobody gets an acknowledgement.
      for (const op of batch) op.reject(e);
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
