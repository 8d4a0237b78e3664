/**
 * GroupCommitter on a scripted backend: which writes share a commit, and when a write is acknowledged relative to
 * the fsyncs (the real backends are covered by the contract and durability suites).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CommitOutcomeUnknown, GroupCommitter, type GroupBackend } from '../../src/store/group-commit.js';

/** A backend that logs commits and fsyncs; each fsync stays pending until the test releases it. */
function scripted() {
  const log: string[] = [];
  const commits: string[][] = [];
  const pendingSyncs: (() => void)[] = [];
  let current: string[] | undefined;
  const backend: GroupBackend<string[]> = {
    async transaction(body) {
      current = [];
      await body(current);
      commits.push(current);
      log.push(`commit ${current.join(',')}`);
      current = undefined;
    },
    async savepoint(_tx, fn) {
      return fn();
    },
    sync() {
      log.push('sync start');
      return new Promise<void>((resolve) => pendingSyncs.push(() => {
        log.push('sync end');
        resolve();
      }));
    },
  };
  return { backend, log, commits, pendingSyncs };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('group commit', () => {
  test('writes arriving while an fsync runs gather into one commit, acknowledged only after a later fsync', async () => {
    const b = scripted();
    const gc = new GroupCommitter(b.backend, 100);
    const acked: string[] = [];
    const write = (name: string) => gc.submit(async (tx) => {
      tx.push(name);
      return name;
    }).then((v) => void acked.push(v));

    const first = write('a');
    await tick();
    assert.deepEqual(b.commits, [['a']]);
    assert.equal(b.pendingSyncs.length, 1, 'the first commit starts its fsync');
    assert.deepEqual(acked, [], 'not acknowledged before its fsync ends');

    // Three writes arrive, on separate turns, while that fsync runs: none of them commits yet.
    const later = [write('b')];
    await tick();
    later.push(write('c'));
    await tick();
    later.push(write('d'));
    await tick();
    assert.deepEqual(b.commits, [['a']], 'nothing commits while the fsync runs');

    b.pendingSyncs.shift()!();
    await first;
    assert.deepEqual(acked, ['a']);
    await tick();
    await tick();
    assert.deepEqual(b.commits, [['a'], ['b', 'c', 'd']], 'the gathered writes share one commit');
    assert.deepEqual(acked, ['a'], 'b, c and d wait for the fsync that started after their commit');
    assert.equal(b.pendingSyncs.length, 1);
    b.pendingSyncs.shift()!();
    await Promise.all(later);
    assert.deepEqual(acked, ['a', 'b', 'c', 'd']);
    assert.deepEqual(b.log, ['commit a', 'sync start', 'sync end', 'commit b,c,d', 'sync start', 'sync end']);
    await gc.drain();
  });

  test('a full batch commits at once, without waiting for the running fsync', async () => {
    const b = scripted();
    const gc = new GroupCommitter(b.backend, 3);
    const writes = [gc.submit(async (tx) => void tx.push('a'))];
    await tick();
    assert.equal(b.pendingSyncs.length, 1);
    for (const name of ['b', 'c']) writes.push(gc.submit(async (tx) => void tx.push(name)));
    await tick();
    assert.deepEqual(b.commits, [['a']], 'two queued writes wait for the fsync');
    writes.push(gc.submit(async (tx) => void tx.push('d')));
    await tick();
    assert.deepEqual(b.commits, [['a'], ['b', 'c', 'd']], 'the third fills the batch: it commits during the fsync');
    // The second batch's acknowledgement needs an fsync that starts after its commit, not the one running.
    b.pendingSyncs.shift()!();
    await tick();
    assert.equal(b.pendingSyncs.length, 1, 'a new fsync started for the second batch');
    b.pendingSyncs.shift()!();
    await Promise.all(writes);
    await gc.drain();
  });

  test('a write that fails is refused alone; the others in its commit are acknowledged', async () => {
    const b = scripted();
    const gc = new GroupCommitter(b.backend, 100);
    const ok = gc.submit(async (tx) => void tx.push('ok'));
    const bad = gc.submit(async () => {
      throw new Error('refused');
    });
    await tick();
    b.pendingSyncs.shift()!();
    await ok;
    await assert.rejects(bad, /refused/);
    assert.deepEqual(b.commits, [['ok']]);
    await gc.drain();
  });

  /** A backend that rolls back like a database: a failed transaction commits nothing, a failed savepoint undoes its own. */
  function rollingBack() {
    const commits: string[][] = [];
    let savepoints = 0;
    const backend: GroupBackend<string[]> = {
      async transaction(body) {
        const tx: string[] = [];
        await body(tx); // throws: rolled back, nothing committed
        commits.push(tx);
      },
      async savepoint(tx, fn) {
        savepoints++;
        const mark = tx.length;
        try {
          return await fn();
        } catch (e) {
          tx.length = mark;
          throw e;
        }
      },
      savepointsOnlyOnFailure: true,
    };
    return { backend, commits, savepoints: () => savepoints };
  }

  test('savepoints only on failure: a batch that fails nowhere runs once, without savepoints', async () => {
    const b = rollingBack();
    const gc = new GroupCommitter(b.backend, 100);
    const writes = ['a', 'b', 'c'].map((x) => gc.submit(async (tx) => (tx.push(x), x)));
    assert.deepEqual(await Promise.all(writes), ['a', 'b', 'c']);
    assert.deepEqual(b.commits, [['a', 'b', 'c']]);
    assert.equal(b.savepoints(), 0);
  });

  test('savepoints only on failure: a write that fails after writing is undone alone; the batch runs again with savepoints', async () => {
    const b = rollingBack();
    const gc = new GroupCommitter(b.backend, 100);
    const runs = { ok1: 0, bad: 0, ok2: 0 };
    const ok1 = gc.submit(async (tx) => (runs.ok1++, tx.push('ok1'), 'ok1'));
    const bad = gc.submit(async (tx) => {
      runs.bad++;
      tx.push('half-written');
      throw new Error('refused');
    });
    const ok2 = gc.submit(async (tx) => (runs.ok2++, tx.push('ok2'), 'ok2'));
    assert.equal(await ok1, 'ok1');
    assert.equal(await ok2, 'ok2');
    await assert.rejects(bad, /refused/);
    assert.deepEqual(b.commits, [['ok1', 'ok2']], 'one commit, without the failed write');
    assert.deepEqual(runs, { ok1: 2, bad: 2, ok2: 1 }, 'the first run stopped at the failure; the second ran everything');
    assert.equal(b.savepoints(), 3);

    // The next batches use savepoints from the start.
    await gc.submit(async (tx) => void tx.push('next'));
    assert.equal(b.savepoints(), 4);
    await gc.drain();
  });

  test('savepoints only on failure: a lone write that fails is refused without running again', async () => {
    const b = rollingBack();
    const gc = new GroupCommitter(b.backend, 100);
    let runs = 0;
    await assert.rejects(gc.submit(async (tx) => {
      runs++;
      tx.push('half-written');
      throw new Error('refused');
    }), /refused/);
    assert.equal(runs, 1);
    assert.deepEqual(b.commits, []);
    assert.equal(b.savepoints(), 0);
    await gc.submit(async (tx) => void tx.push('later'));
    assert.deepEqual(b.commits, [['later']]);
    assert.equal(b.savepoints(), 0, 'a lone failure is no reason for caution');
  });

  test('unguarded: each write of the run without savepoints goes through the hook; a lone failure runs again with a savepoint when it is not final', async () => {
    const b = rollingBack();
    const wrapped: string[] = [];
    b.backend.unguarded = async (_tx, fn) => {
      wrapped.push('write');
      return fn();
    };
    b.backend.unguardedFailureIsFinal = false;
    const gc = new GroupCommitter(b.backend, 100);
    assert.deepEqual(await Promise.all(['a', 'b'].map((x) => gc.submit(async (tx) => (tx.push(x), x)))), ['a', 'b']);
    assert.deepEqual(wrapped, ['write', 'write']);
    assert.equal(b.savepoints(), 0);
    // A lone write that fails: its answer comes from the run with a savepoint.
    let runs = 0;
    await assert.rejects(gc.submit(async (tx) => {
      runs++;
      tx.push('half-written');
      throw new Error(runs === 1 ? 'shortcut was wrong' : 'refused');
    }), /refused/);
    assert.equal(runs, 2);
    assert.equal(b.savepoints(), 1);
    assert.deepEqual(b.commits, [['a', 'b'], []]);
    await gc.drain();
  });

  test('a commit whose outcome is unknown is never run again: every write of the batch is refused', async () => {
    const b = rollingBack();
    const { transaction } = b.backend;
    let failCommit = true;
    b.backend.transaction = async (body) => {
      await transaction(body);
      if (failCommit) {
        failCommit = false;
        throw new CommitOutcomeUnknown(new Error('Connection terminated unexpectedly'));
      }
    };
    b.backend.unguardedFailureIsFinal = false;
    const gc = new GroupCommitter(b.backend, 100);
    let runs = 0;
    const writes = ['a', 'b'].map((x) => gc.submit(async (tx) => (runs++, tx.push(x), x)));
    for (const w of writes) await assert.rejects(w, /Connection terminated unexpectedly/);
    assert.equal(runs, 2, 'each write ran once');
    assert.equal(b.savepoints(), 0);
    assert.equal(await gc.submit(async (tx) => (tx.push('c'), 'c')), 'c');
    await gc.drain();
  });
});
