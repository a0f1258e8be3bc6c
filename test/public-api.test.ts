import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

const ROOT = resolve(import.meta.dirname, '..');

describe('public API', () => {
  it('exports exactly the documented runtime symbols from the main entry', () => {
    // Changing this list changes the public API: update docs/authoring.md with it.
    expect(Object.keys(api).sort()).toEqual([
      'BackoffError',
      'BatchError',
      'ColumnSpec',
      'ConfigError',
      'ConnectorRegistry',
      'DatasetRef',
      'EngineError',
      'ParamRef',
      'PermanentError',
      'PipelineLoadError',
      'Project',
      'QualityGateError',
      'RetryableError',
      'RowsUnaccountedError',
      'RunStore',
      'SQLStep',
      'Schema',
      'SchemaMismatchError',
      'SinkError',
      'SluiceError',
      'SourceError',
      'StoreError',
      'UsageError',
      'UserCodeError',
      'check',
      'createRegistry',
      'defaultRegistry',
      'defineProject',
      'defineSink',
      'defineSource',
      'expect',
      'expectationTypes',
      'formatDiagnostics',
      'formatDuration',
      'formatRunReport',
      'formatType',
      'isPipeline',
      'isSchema',
      'isStream',
      'loadPipelineFile',
      'loadStreamFile',
      'newRunId',
      'param',
      'parseDuration',
      'pipeline',
      'planBackfill',
      'planOrThrow',
      'planPipeline',
      'ref',
      'runPipeline',
      'runScheduler',
      'runWorker',
      'schema',
      'sink',
      'source',
      'sql',
      'stream',
      'streamSink',
      'streamSource',
      'submitBackfill',
      'suite',
      'suiteFromGX',
      't',
      'transform',
      'validateDataFile',
      'validateSuite',
    ]);
  });

  it('resolves every sub-path export of package.json to a built module', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { types: string; import: string }>;
      bin: Record<string, string>;
    };
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') {
        expect(existsSync(join(ROOT, target)), subpath).toBe(true);
        continue;
      }
      expect(existsSync(join(ROOT, target.types)), `${subpath} types`).toBe(true);
      const loaded = (await import(pathToFileURL(join(ROOT, target.import)).href)) as object;
      expect(Object.keys(loaded).length, `${subpath} exports something`).toBeGreaterThan(0);
    }
    expect(existsSync(join(ROOT, manifest.bin['sluice'] as string))).toBe(true);
  });
});
