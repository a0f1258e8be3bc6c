import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { glob } from 'tinyglobby';
import type { Pipeline, TriggerSpec } from '../define/pipeline.js';
import { resolveTableLocation } from '../table/table-store.js';
import type { LoadedPipeline } from './project.js';
import type { RunStore } from './run-store.js';
import { pipelineRun } from './pipeline-run.js';
import type { NewRun, RunEvent, RunRecord } from './run-types.js';

const EVENTS_CURSOR = 'sensor:events';
const FILES_CURSOR = 'sensor:files:';

/**
 * Checks a pipeline's sensors once and creates a run for each new match: a `run.success` of a
 * pipeline it follows (`afterPipeline`), a `dataset.updated` of a dataset it follows
 * (`afterDataset`), or a new or changed file matching a `fileArrives` glob. A sensor's position
 * moves in the same transaction as the runs it creates. Event sensors start from the newest
 * event when first seen; file sensors start a run for every file they find the first time.
 *
 * @example
 * ```ts
 * const created = await fireSensors(store, await project.load('load_orders'));
 * ```
 */
export async function fireSensors(store: RunStore, loaded: LoadedPipeline): Promise<RunRecord[]> {
  const triggers = loaded.pipeline.orchestration.triggers ?? [];
  const created: RunRecord[] = [];
  const followsEvents = triggers.filter((t) => !('fileArrives' in t));
  if (followsEvents.length > 0)
    created.push(...(await fireEventSensors(store, loaded, followsEvents)));
  for (const trigger of triggers)
    if ('fileArrives' in trigger)
      created.push(...(await fireFileSensor(store, loaded, trigger.fileArrives)));
  return created;
}

async function fireEventSensors(
  store: RunStore,
  loaded: LoadedPipeline,
  triggers: readonly TriggerSpec[],
): Promise<RunRecord[]> {
  const { pipeline } = loaded;
  const position = await store.getCursor(pipeline.name, EVENTS_CURSOR);
  if (position === undefined) {
    await store.advanceCursor(
      pipeline.name,
      EVENTS_CURSOR,
      undefined,
      String(await store.lastEventId()),
      [],
    );
    return [];
  }
  const events = await store.eventsAfter(Number(position), ['run.success', 'dataset.updated']);
  if (events.length === 0) return [];
  const base = dirname(loaded.file);
  const runs = events.flatMap((event) => {
    const params = matchEvent(event, triggers, base);
    return params === undefined
      ? []
      : [sensorRun(pipeline, loaded.codeHash, `event:${event.id}`, params)];
  });
  const next = String((events.at(-1) as RunEvent).id);
  return (await store.advanceCursor(pipeline.name, EVENTS_CURSOR, position, next, runs)) ?? [];
}

function matchEvent(
  event: RunEvent,
  triggers: readonly TriggerSpec[],
  base: string,
): Record<string, string> | undefined {
  for (const trigger of triggers) {
    if (
      'afterPipeline' in trigger &&
      event.kind === 'run.success' &&
      event.pipeline === trigger.afterPipeline
    )
      return { upstream_run_id: event.runId ?? '' };
    if ('afterDataset' in trigger && event.kind === 'dataset.updated') {
      const dataset = String(event.data['dataset'] ?? '');
      if (sameDataset(dataset, trigger.afterDataset, base))
        return { upstream_run_id: event.runId ?? '', trigger_dataset: dataset };
    }
  }
  return undefined;
}

function sameDataset(published: string, followed: string, base: string): boolean {
  const normal = (text: string): string => resolveTableLocation(base, text).replace(/\/+$/, '');
  return normal(published) === normal(followed);
}

async function fireFileSensor(
  store: RunStore,
  loaded: LoadedPipeline,
  pattern: string,
): Promise<RunRecord[]> {
  const { pipeline } = loaded;
  const name = `${FILES_CURSOR}${pattern}`;
  const position = await store.getCursor(pipeline.name, name);
  const seen = JSON.parse(position ?? '{}') as Record<string, string>;
  const base = dirname(loaded.file);
  const files = await glob(pattern, { cwd: base, absolute: true, onlyFiles: true });
  const current: Record<string, string> = {};
  const runs: NewRun[] = [];
  for (const file of files.sort()) {
    const info = await stat(file).catch(() => undefined);
    if (info === undefined) continue;
    const version = `${info.mtimeMs}:${info.size}`;
    current[file] = version;
    if (seen[file] !== version)
      runs.push(
        sensorRun(pipeline, loaded.codeHash, `file:${file}@${version}`, { trigger_file: file }),
      );
  }
  const next = JSON.stringify(current);
  if (runs.length === 0 && next === (position ?? '{}')) return [];
  return (await store.advanceCursor(pipeline.name, name, position, next, runs)) ?? [];
}

function sensorRun(
  pipeline: Pipeline,
  codeHash: string,
  runKey: string,
  offered: Readonly<Record<string, string>>,
): NewRun {
  const params = Object.fromEntries(
    Object.entries(offered).filter(([key]) => Object.hasOwn(pipeline.params, key)),
  );
  return { ...pipelineRun(pipeline, codeHash, 'sensor'), runKey, params };
}
