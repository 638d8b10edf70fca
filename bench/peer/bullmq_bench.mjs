// The peer of the taskrelay benchmark: BullMQ on a Redis that the caller
// started with appendonly yes and appendfsync always. Measures no-op job
// throughput (one producer, one worker) and enqueue-to-worker-start latency
// (one job at a time, idle worker), and prints one JSON object.
//
// usage: node bullmq_bench.mjs PORT THROUGHPUT_JOBS LATENCY_JOBS IN_FLIGHT CONCURRENCY
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';

const [port, throughputJobs, latencyJobs, inFlight, concurrency] =
  process.argv.slice(2).map((text) => Number.parseInt(text, 10));
if (![port, throughputJobs, latencyJobs, inFlight, concurrency].every((n) => n > 0)) {
  console.error('usage: node bullmq_bench.mjs PORT THROUGHPUT_JOBS LATENCY_JOBS IN_FLIGHT CONCURRENCY');
  process.exit(2);
}
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
// Every phase must end by itself, also when Redis hangs.
const watchdog = setTimeout(() => {
  console.error('bullmq_bench: timed out after 300 s');
  process.exit(1);
}, 300_000);

function nearestRank(sorted, fraction) {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1];
}

function summarize(samplesMs) {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50_us: nearestRank(sorted, 0.5) * 1000,
    p99_us: nearestRank(sorted, 0.99) * 1000,
    max_us: sorted[sorted.length - 1] * 1000,
    mean_us: (sum / sorted.length) * 1000,
  };
}

async function measureThroughput() {
  const queue = new Queue('bench-throughput', { connection });
  let completed = 0;
  let resolveDone;
  const done = new Promise((resolve) => { resolveDone = resolve; });
  const worker = new Worker('bench-throughput', async () => {}, { connection, concurrency });
  worker.on('completed', () => {
    completed += 1;
    if (completed === throughputJobs) resolveDone();
  });
  await worker.waitUntilReady();
  await queue.waitUntilReady();

  const start = performance.now();
  let next = 0;
  const producers = Array.from({ length: inFlight }, async () => {
    while (next < throughputJobs) {
      next += 1;
      await queue.add('noop', {});
    }
  });
  await Promise.all(producers);
  await done;
  const elapsedS = (performance.now() - start) / 1000;

  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return { jobs: throughputJobs, in_flight: inFlight, concurrency, elapsed_s: elapsedS,
           jobs_per_s: throughputJobs / elapsedS };
}

async function measureLatency() {
  const queue = new Queue('bench-latency', { connection });
  const samplesMs = [];
  let resolveJob;
  const worker = new Worker('bench-latency', async (job) => {
    samplesMs.push(performance.now() - job.data.sent);
  }, { connection, concurrency: 1 });
  worker.on('completed', () => resolveJob());
  await worker.waitUntilReady();
  await queue.waitUntilReady();

  for (let i = 0; i < latencyJobs + 50; i += 1) {
    const finished = new Promise((resolve) => { resolveJob = resolve; });
    await queue.add('noop', { sent: performance.now() });
    await finished;
  }
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  // The first 50 jobs warm up connections, as in the taskrelay phase.
  return { dispatch: summarize(samplesMs.slice(50)), warmup: 50 };
}

const throughput = await measureThroughput();
const latency = await measureLatency();
clearTimeout(watchdog);
console.log(JSON.stringify({ throughput, latency }));
