import { Worker } from 'node:worker_threads';

/**
 * Checkpoints the WAL from a thread of its own, so that copying pages back into the database never runs on the
 * event loop. Left to the writer, SQLite checkpoints inside the COMMIT that crosses `wal_autocheckpoint`: with
 * 10,000 pages that was 15–23 ms of blocked event loop about twice a second in the task lifecycle, ~6% of its
 * time. This thread has its own connection and runs a PASSIVE checkpoint every `intervalMs`; the writer keeps a
 * much larger `wal_autocheckpoint` of its own only as a safety net, and falls back to its usual one if this
 * thread stops (`onStopped`).
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private stopping: Promise<void> | undefined;
  private exited = false;
  /** Checkpoints run so far, and how many of the WAL's frames were in the database after the last one. */
  checkpoints = 0;
  walFramesCheckpointed = 0;

  constructor(file: string, intervalMs: number, onStopped: (error: Error) => void) {
    this.worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { file, intervalMs } });
    // Never what keeps a process alive: close() stops it, and a process that exits takes it along.
    this.worker.unref();
    let error: Error | undefined;
    this.worker.on('message', (m: { type: string; frames: number; message: string; code?: string }) => {
      if (m.type === 'failed') error = new Error(`WAL checkpoint thread: ${m.code ? `${m.code}: ` : ''}${m.message}`);
      if (m.type !== 'checkpointed') return;
      this.checkpoints++;
      this.walFramesCheckpointed = m.frames;
    });
    this.worker.on('error', (e) => (error ??= e instanceof Error ? e : new Error(`WAL checkpoint thread: ${JSON.stringify(e)}`)));
    this.worker.on('exit', () => {
      this.exited = true;
      if (!this.stopping) onStopped(error ?? new Error('the checkpoint thread exited'));
    });
  }

  /** Stops the thread after the checkpoint it may be running; its connection is closed when this resolves. */
  close(): Promise<void> {
    this.stopping ??= this.exited ? Promise.resolve() : new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      // Waiting for it is what keeps the process alive now.
      this.worker.ref();
      this.worker.postMessage({ type: 'close' });
    });
    return this.stopping;
  }
}
