// WorkerPool: results, bounded concurrency, deadlines enforced by terminating the worker, crashed
// workers replaced; and the analysis worker served through the pool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analysisWorkerScript } from '../src/jobs/analysis-worker.js';
import { threadNice } from '../src/threads/thread-priority.js';
import { WorkerPool } from '../src/threads/worker-pool.js';
import { TrawlError } from '../src/model/errors.js';
import type { FileAnalysis } from '../src/store/store.js';

const script = new URL('./fixtures/pool-test-worker.js', import.meta.url);

test('results come back matched to their tasks', async () => {
  const pool = new WorkerPool({ script, size: 3, taskTimeoutMs: 10_000 });
  try {
    const values = Array.from({ length: 20 }, (_, i) => i);
    const replies = await Promise.all(
      values.map((value) => pool.run<{ value: number }>({ kind: 'echo', value })),
    );
    assert.deepEqual(replies.map((r) => r.value), values);
    await assert.rejects(pool.run({ kind: 'nope' }), /unknown task kind "nope"/);
  } finally {
    await pool.close();
  }
});

test('runs at most `size` tasks at once and queues the rest', async () => {
  const pool = new WorkerPool({ script, size: 2, taskTimeoutMs: 10_000 });
  try {
    const started = Date.now();
    const runs = Array.from({ length: 4 }, () => pool.run<number>({ kind: 'sleep', ms: 200 }));
    assert.equal(pool.busy, 2);
    assert.equal(pool.queued, 2);
    const threads = await Promise.all(runs);
    assert.equal(new Set(threads).size, 2, 'both workers were used');
    assert.ok(Date.now() - started >= 390, 'four 200 ms tasks on two workers take two rounds');
    assert.equal(pool.busy, 0);
  } finally {
    await pool.close();
  }
});

test('waiting tasks run by priority, lowest first, in queue order within one priority', async () => {
  const pool = new WorkerPool({ script, size: 1, taskTimeoutMs: 10_000 });
  try {
    const order: string[] = [];
    const run = (name: string, priority?: number) => pool.run({ kind: 'echo', value: name }, [], { priority }).then(() => order.push(name));
    const blocker = pool.run({ kind: 'sleep', ms: 100 });
    const all = [run('deep-1', 2), run('sub-1', 1), run('deep-2', 2), run('top-1'), run('sub-2', 1), run('top-2', 0)];
    assert.equal(pool.queued, 6);
    await Promise.all([blocker, ...all]);
    assert.deepEqual(order, ['top-1', 'top-2', 'sub-1', 'sub-2', 'deep-1', 'deep-2']);
    assert.equal(pool.queued, 0);
  } finally {
    await pool.close();
  }
});

test('within one priority, lanes take turns: one lane\'s backlog does not hold up another\'s task', async () => {
  const pool = new WorkerPool({ script, size: 1, taskTimeoutMs: 10_000 });
  try {
    const order: string[] = [];
    const run = (name: string, lane: string, priority = 0) => pool.run({ kind: 'echo', value: name }, [], { lane, priority }).then(() => order.push(name));
    const blocker = pool.run({ kind: 'sleep', ms: 100 });
    const all = [run('a1', 'a'), run('a2', 'a'), run('a3', 'a'), run('b1', 'b'), run('a-deep', 'a', 1), run('b2', 'b'), run('c1', 'c')];
    await Promise.all([blocker, ...all]);
    // In turn (a, b, c, a, b, a), each lane in its own order; the deeper task after them all.
    assert.deepEqual(order, ['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a-deep']);
  } finally {
    await pool.close();
  }
});

test('reserve: with two lanes active, heavy tasks leave one worker to light ones; one lane alone gets all', async () => {
  const pool = new WorkerPool({ script, size: 2, taskTimeoutMs: 10_000, reserveMs: 5_000 });
  try {
    // One lane alone: both workers take its heavy tasks.
    const alone = [0, 1].map(() => pool.run({ kind: 'sleep', ms: 150 }, [], { lane: 'a', heavy: true }));
    assert.equal(pool.busy, 2);
    await Promise.all(alone);
    // Another lane had work lately: a heavy task waits rather than take the last worker...
    await pool.run({ kind: 'echo', value: 1 }, [], { lane: 'b' });
    const started = Date.now();
    const heavy = [0, 1].map(() => pool.run({ kind: 'sleep', ms: 300 }, [], { lane: 'a', heavy: true }));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(pool.busy, 1, 'one worker kept free of heavy tasks');
    // ...which a light task of either lane gets at once.
    await pool.run({ kind: 'echo', value: 2 }, [], { lane: 'b' });
    assert.ok(Date.now() - started < 250, 'the light task did not wait for the heavy ones');
    await Promise.all(heavy);
    assert.ok(Date.now() - started >= 590, 'the heavy tasks ran one at a time');
  } finally {
    await pool.close();
  }
});

test('reserve: background lanes count as one; beside another lane\'s work their heavy tasks leave it a worker', async () => {
  const pool = new WorkerPool({ script, size: 2, taskTimeoutMs: 10_000, reserveMs: 5_000 });
  try {
    // Two background lanes (a Retrohunt job, the index upkeep), heavy tasks each: both workers busy.
    await Promise.all([0, 1].map(() => pool.run({ kind: 'echo', value: 0 }))); // threads started
    const started = Date.now();
    const bg = [pool.run({ kind: 'sleep', ms: 400 }, [], { lane: 'index', heavy: true, background: true }),
      pool.run({ kind: 'sleep', ms: 400 }, [], { lane: 'retro', heavy: true, background: true })];
    assert.equal(pool.busy, 2, 'no worker kept idle between background lanes');
    await Promise.all(bg);
    // One after the other would take 800 ms; the margin is for a loaded machine.
    assert.ok(Date.now() - started < 750, 'they ran side by side');
    // A user's upload lately: background heavy tasks leave one worker to it.
    await pool.run({ kind: 'echo', value: 1 }, [], { lane: 'user' });
    const heavy = [0, 1].map(() => pool.run({ kind: 'sleep', ms: 300 }, [], { lane: 'retro', heavy: true, background: true }));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(pool.busy, 1, 'one worker kept free of heavy tasks');
    await Promise.all(heavy);
  } finally {
    await pool.close();
  }
});

test('maxRunning caps a lane: its tasks wait with a worker idle, the other lanes use it', async () => {
  const pool = new WorkerPool({ script, size: 2, taskTimeoutMs: 10_000 });
  try {
    const started = Date.now();
    const late = [0, 1].map(() => pool.run<number>({ kind: 'sleep', ms: 300 }, [], { lane: 'late', maxRunning: 1 }));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(pool.busy, 1, 'the second capped task waits although a worker is idle');
    const quick = await pool.run<{ value: string }>({ kind: 'echo', value: 'q' }, [], { lane: 'user' });
    assert.equal(quick.value, 'q');
    assert.ok(Date.now() - started < 250, 'the other lane ran on the idle worker at once');
    await Promise.all(late);
    assert.ok(Date.now() - started >= 590, 'the capped tasks ran one after the other');
  } finally {
    await pool.close();
  }
});

test('held back: deeper tasks wait, with workers idle, while the hold is active, and at most maxWaitMs', async () => {
  let active = true;
  const pool = new WorkerPool({ script, size: 2, taskTimeoutMs: 10_000, holdBack: { fromPriority: 1, active: () => active, maxWaitMs: 600 } });
  try {
    const done = new Map<string, number>();
    const started = performance.now();
    const run = (name: string, priority: number) =>
      pool.run({ kind: 'echo', value: name }, [], { priority }).then(() => done.set(name, performance.now() - started));
    await run('top', 0);
    assert.ok(done.get('top')! < 300, 'priority 0 is never held');
    const sub = run('sub', 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(done.has('sub'), false, 'held while active, though both workers are idle');
    assert.equal(pool.queued, 1);
    active = false;
    await sub;
    assert.ok(done.get('sub')! < 450, `runs soon after the hold ends (${done.get('sub')} ms)`);

    active = true;
    const t = performance.now();
    await run('deep', 2);
    const waited = performance.now() - t;
    assert.ok(waited >= 590 && waited < 1000, `held for maxWaitMs at most, then run though still active (${waited} ms)`);
  } finally {
    await pool.close();
  }
});

test('worker threads run at the nice value asked for; the calling thread keeps its own', { skip: process.platform !== 'linux' && 'per-thread nice values are Linux only' }, async () => {
  const before = threadNice();
  const pool = new WorkerPool({ script, size: 2, taskTimeoutMs: 10_000, nice: 7 });
  const plain = new WorkerPool({ script, size: 1, taskTimeoutMs: 10_000 });
  try {
    const nices = await Promise.all([1, 2, 3, 4].map(() => pool.run<number>({ kind: 'nice' })));
    assert.deepEqual(nices, [7, 7, 7, 7].map((n) => Math.max(n, before ?? 0)));
    assert.equal(await plain.run<number>({ kind: 'nice' }), before, 'a pool without `nice` leaves its threads alone');
    // A replacement worker is lowered too.
    await assert.rejects(pool.run({ kind: 'exit' }));
    assert.equal(await pool.run<number>({ kind: 'nice' }), Math.max(7, before ?? 0));
    assert.equal(threadNice(), before);
  } finally {
    await Promise.all([pool.close(), plain.close()]);
  }
});

test('a task past its deadline is killed as DeadlineExceededError and the pool keeps working', async () => {
  const pool = new WorkerPool({ script, size: 1, taskTimeoutMs: 300 });
  try {
    const started = Date.now();
    await assert.rejects(pool.run({ kind: 'spin' }), (err: unknown) => {
      assert.ok(err instanceof TrawlError);
      assert.equal(err.code, 'DeadlineExceededError');
      return true;
    });
    assert.ok(Date.now() - started < 2000);
    const reply = await pool.run<{ value: string }>({ kind: 'echo', value: 'after' });
    assert.equal(reply.value, 'after');
    assert.equal(pool.restarts, 1);
  } finally {
    await pool.close();
  }
});

test('a crashed worker rejects its task and is replaced', async () => {
  const pool = new WorkerPool({ script, size: 2, taskTimeoutMs: 10_000 });
  try {
    const bystander = pool.run<number>({ kind: 'sleep', ms: 300 });
    await assert.rejects(pool.run({ kind: 'exit' }), /worker thread crashed.*exited with code 3/);
    await assert.rejects(pool.run({ kind: 'throwLater' }), /worker thread crashed.*boom from the worker/);
    assert.equal(typeof (await bystander), 'number', 'the other worker was not disturbed');
    const replies = await Promise.all([1, 2, 3].map((value) => pool.run({ kind: 'echo', value })));
    assert.equal(replies.length, 3);
    assert.equal(pool.restarts, 2);
  } finally {
    await pool.close();
  }
});

test('errors thrown by a task keep their TrawlError code and do not cost the worker', async () => {
  const pool = new WorkerPool({ script, size: 1, taskTimeoutMs: 10_000 });
  try {
    await assert.rejects(pool.run({ kind: 'fail' }), { code: 'NotFoundError', message: 'no such thing' });
    assert.equal(pool.restarts, 0);
  } finally {
    await pool.close();
  }
});

test('close() rejects queued tasks', async () => {
  const pool = new WorkerPool({ script, size: 1, taskTimeoutMs: 10_000 });
  const running = assert.rejects(pool.run({ kind: 'sleep', ms: 100 }), { code: 'TransientError' });
  const queued = assert.rejects(pool.run({ kind: 'echo', value: 1 }), { code: 'TransientError' });
  await pool.close();
  await Promise.all([running, queued]);
  await assert.rejects(pool.run({ kind: 'echo' }), { code: 'TransientError' });
});

test('the analysis worker analyses files through the pool', async () => {
  const pool = new WorkerPool({ script: analysisWorkerScript, size: 2, taskTimeoutMs: 10_000 });
  try {
    const elf = (await pool.run<{ analysis: FileAnalysis }>({ kind: 'analyze', path: process.execPath })).analysis;
    assert.equal(elf.typeTag, 'elf');
    assert.match(elf.magic, /^ELF /);
    const bare = (await pool.run<{ analysis: FileAnalysis }>({ path: process.execPath })).analysis; // `{id, path}`: analyze
    assert.deepEqual(bare, elf);
    await assert.rejects(pool.run({ kind: 'analyze', path: '/nonexistent/file' }), /cannot stat/);
  } finally {
    await pool.close();
  }
});
