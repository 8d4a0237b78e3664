/**
 * The body of WalCheckpointer's thread (see checkpointer.ts): its own connection to the database, a PASSIVE
 * checkpoint every `intervalMs`, and a clean close when asked. A PASSIVE checkpoint never waits for the writer
 * or for readers: it copies what it can and leaves the rest for the next round.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3, { type Database } from 'better-sqlite3';

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const port = parentPort!;
let db: Database | undefined;
let timer: NodeJS.Timeout | undefined;

/** Ends the thread; `error` says why to the store (a thrown error would reach it without its message). */
function stop(error?: unknown): void {
  if (timer) clearInterval(timer);
  if (error !== undefined) {
    const e = error as { message?: unknown; code?: unknown };
    port.postMessage({ type: 'failed', message: String(e.message ?? error), code: typeof e.code === 'string' ? e.code : undefined });
  }
  try {
    db?.close();
  } finally {
    port.close();
  }
}

try {
  db = new BetterSqlite3(file, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // As on the writer: the WAL is fsynced before a checkpoint copies it, the database after.
  db.pragma('synchronous = NORMAL');
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  timer = setInterval(() => {
    try {
      const [r] = checkpoint.all() as { busy: number; log: number; checkpointed: number }[];
      port.postMessage({ type: 'checkpointed', frames: r?.checkpointed ?? 0 });
    } catch (e) {
      stop(e);
    }
  }, intervalMs);
  port.on('message', (m: { type: string }) => {
    if (m.type === 'close') stop();
  });
} catch (e) {
  stop(e);
}
