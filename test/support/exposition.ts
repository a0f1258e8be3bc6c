import { spawnSync } from 'node:child_process';

/** One sample of a Prometheus text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text 0.0.4 exposition (label values without escapes). */
export function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g))
      labels[pair[1] as string] = pair[2] as string;
    out.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return out;
}

/** The value of the sample with exactly these labels, or undefined. */
export function valueOf(
  all: readonly Sample[],
  name: string,
  labels: Readonly<Record<string, string>>,
): number | undefined {
  const keys = Object.keys(labels);
  return all.find(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === keys.length &&
      keys.every((key) => s.labels[key] === labels[key]),
  )?.value;
}

/** Whether Debian's promtool is installed. */
export function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** `promtool check metrics` of an exposition: its exit code and what it said. */
export function promtoolCheckMetrics(text: string): { code: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** The reference OpenMetrics parser: Python's prometheus_client (Debian python3-prometheus-client). */
const OPENMETRICS_PARSER = `
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
try:
    for _ in text_string_to_metric_families(sys.stdin.read()):
        pass
except Exception as error:
    print(error, file=sys.stderr)
    sys.exit(1)
`;

/** Whether the reference OpenMetrics parser can run. */
export function hasOpenMetricsParser(): boolean {
  return (
    spawnSync('/usr/bin/python3', ['-c', 'import prometheus_client.openmetrics.parser'], {
      encoding: 'utf8',
    }).status === 0
  );
}

/** Parses an OpenMetrics exposition with the reference parser: undefined when it parses, else why not. */
export function openMetricsProblem(text: string): string | undefined {
  const result = spawnSync('/usr/bin/python3', ['-c', OPENMETRICS_PARSER], {
    input: text,
    encoding: 'utf8',
  });
  return result.status === 0 ? undefined : result.stderr.trim() || `exit ${result.status}`;
}

const OPENMETRICS_FILES_PARSER = `
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
verdicts = []
for path in json.load(sys.stdin):
    try:
        with open(path, encoding='utf-8') as file:
            for _ in text_string_to_metric_families(file.read()):
                pass
        verdicts.append(True)
    except Exception:
        verdicts.append(False)
print(json.dumps(verdicts))
`;

/** Whether the reference OpenMetrics parser accepts each file, in one process. */
export function openMetricsParses(paths: readonly string[]): boolean[] {
  const result = spawnSync('/usr/bin/python3', ['-c', OPENMETRICS_FILES_PARSER], {
    input: JSON.stringify(paths),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`the OpenMetrics parser failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as boolean[];
}
