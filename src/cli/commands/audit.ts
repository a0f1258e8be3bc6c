import { UsageError } from '../../core/errors.js';
import type { AuditEntry } from '../../observe/audit/audit-chain.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { instant, positiveInteger, withProjectStore } from '../orchestrator-options.js';
import { presentError } from '../present-error.js';
import { auditSpec, auditVerifySpec } from '../specs/audit.js';
import { formatColumns } from '../text-table.js';

/**
 * `sluice audit [--dataset d] [--pipeline p] [--actor a] [--since t] [--limit n] [--json]`: the
 * audit log's entries, newest first.
 *
 * @example
 * ```sh
 * sluice audit --dataset lake/orders --since 2024-06-01 --json
 * ```
 */
export const auditCommand: Command = {
  ...auditSpec,
  async run(_args, options, io) {
    const json = options['json'] === true;
    try {
      const text = (name: string): string | undefined =>
        typeof options[name] === 'string' ? options[name] : undefined;
      const dataset = text('dataset');
      const pipeline = text('pipeline');
      const actor = text('actor');
      const since =
        options['since'] === undefined ? undefined : instant('--since', options['since']);
      const limit = positiveInteger('--limit', options['limit'] ?? '100');
      return await withProjectStore(options, io, async ({ store }) => {
        const entries = await store.audit.list({
          limit,
          ...(dataset === undefined ? {} : { dataset }),
          ...(pipeline === undefined ? {} : { pipeline }),
          ...(actor === undefined ? {} : { actor }),
          ...(since === undefined ? {} : { since }),
        });
        if (json) io.stdout(`${JSON.stringify(entries.map(entryJSON), null, 2)}\n`);
        else if (entries.length === 0) io.stdout('no audit entries match\n');
        else
          io.stdout(
            formatColumns([
              ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'TARGET', 'DETAIL'],
              ...entries.map((e) => [
                String(e.seq),
                new Date(e.time).toISOString(),
                printable(e.actor),
                printable(e.action),
                printable(targetText(e)),
                printable(JSON.stringify(e.detail)),
              ]),
            ]),
          );
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * `sluice audit verify [--head seq:hash] [--json]`: walks the chain from its first entry; exit
 * 0 and the head to keep when it is unbroken, exit 1 naming the first broken entry otherwise.
 *
 * @example
 * ```sh
 * sluice audit verify --head 1042:5be0c1...   # the head an earlier verify printed
 * ```
 */
export const auditVerifyCommand: Command = {
  ...auditVerifySpec,
  async run(_args, options, io) {
    const json = options['json'] === true;
    try {
      const expected = options['head'] === undefined ? undefined : parseHead(options['head']);
      return await withProjectStore(options, io, async ({ store }) => {
        const result = await store.audit.verify();
        let broken = result.broken;
        if (broken === undefined && expected !== undefined) {
          if (result.head.seq < expected.seq)
            broken = {
              seq: result.head.seq + 1,
              reason: `the log ends at entry ${result.head.seq}, before the exported head ${expected.seq}: entries were removed from its end`,
            };
          else {
            const [entry] = await store.db.all('SELECT hash FROM audit_log WHERE seq = ?', [
              expected.seq,
            ]);
            if (String(entry?.['hash']) !== expected.hash)
              broken = {
                seq: expected.seq,
                reason: `its hash is not the exported head's ${expected.hash.slice(0, 12)}...: the log was rewritten from this entry on`,
              };
          }
        }
        const head = `${result.head.seq}:${result.head.hash}`;
        if (json)
          io.stdout(
            `${JSON.stringify({ ok: broken === undefined, checked: result.checked, head, broken: broken ?? null })}\n`,
          );
        else if (broken === undefined)
          io.stdout(
            `audit log unbroken: ${result.checked} entries; head ${head}\n(keep the head elsewhere and pass it to --head later to prove no entry was removed or rewritten)\n`,
          );
        else
          io.stderr(
            `audit log BROKEN at entry ${broken.seq}: ${printable(broken.reason)}\n${result.checked} entries before it are intact (last good ${head})\n`,
          );
        return broken === undefined ? ExitCode.success : ExitCode.runFailed;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

function parseHead(value: unknown): { seq: number; hash: string } {
  const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(String(value));
  if (match === null)
    throw new UsageError(`--head expects <seq>:<64 hex digits>, got "${String(value)}"`, {
      hint: 'pass the head an earlier sluice audit verify printed',
    });
  return { seq: Number(match[1]), hash: match[2] as string };
}

function entryJSON(e: AuditEntry): Record<string, unknown> {
  return {
    seq: e.seq,
    time: new Date(e.time).toISOString(),
    actor: e.actor,
    action: e.action,
    target: e.target,
    detail: e.detail,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

function targetText(e: AuditEntry): string {
  const parts = [
    e.target.pipeline === undefined ? undefined : `pipeline=${e.target.pipeline}`,
    e.target.runId === undefined ? undefined : `run=${e.target.runId}`,
    e.target.dataset === undefined ? undefined : `dataset=${e.target.dataset}`,
  ];
  return parts.filter((p) => p !== undefined).join(' ') || '-';
}

/** Control characters shown escaped, so a name cannot move the cursor or end the line. */
function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
