/**
 * A scheduler or worker in its own process, for tests that kill it:
 * `node --import jiti/register test/support/orchestrator-process.ts <scheduler|worker> <projectDir> <store> [optionsJSON]`.
 * Prints "ready" when started; stops cleanly on SIGTERM.
 */
import { createLogger } from '../../src/observe/logger.js';
import { Project } from '../../src/orchestrator/project.js';
import { RunStore } from '../../src/orchestrator/run-store.js';
import { runScheduler } from '../../src/orchestrator/scheduler.js';
import { runWorker } from '../../src/orchestrator/worker.js';

const [mode, projectDir, location, optionsJSON] = process.argv.slice(2);
const options = JSON.parse(optionsJSON ?? '{}') as Record<string, number | string>;
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
const logger = createLogger({
  format: 'json',
  level: 'warn',
  write: (line) => process.stderr.write(line),
});
const project = await Project.open(projectDir as string);
const store = await RunStore.open(location as string);
process.stdout.write('ready\n');
if (mode === 'scheduler') {
  await runScheduler({
    store,
    project,
    tickMs: Number(options['tickMs'] ?? 100),
    maxIntervalsPerTick: Number(options['maxIntervalsPerTick'] ?? 1_000),
    signal: stop.signal,
    logger,
  });
} else {
  await runWorker({
    store,
    project,
    id: String(options['id'] ?? `worker-${process.pid}`),
    concurrency: Number(options['concurrency'] ?? 1),
    leaseMs: Number(options['leaseMs'] ?? 2_000),
    pollMs: Number(options['pollMs'] ?? 50),
    signal: stop.signal,
    logger,
  });
}
await store.close();
