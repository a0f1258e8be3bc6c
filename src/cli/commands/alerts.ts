import { UsageError } from '../../core/errors.js';
import { cliActor } from '../cli-actor.js';
import { formatDuration } from '../../core/duration.js';
import type { Incident } from '../../observe/alerts/incidents.js';
import { formatMatchers } from '../../observe/alerts/matchers.js';
import type { SilenceRecord } from '../../orchestrator/alert-store.js';
import { AlertStore } from '../../orchestrator/alert-store.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { withProjectStore } from '../orchestrator-options.js';
import { presentError } from '../present-error.js';
import { formatColumns } from '../text-table.js';
import {
  alertsAckSpec,
  alertsSilenceSpec,
  alertsSpec,
  alertsUnsilenceSpec,
} from '../specs/alerts.js';

const iso = (ms: number | undefined): string | null =>
  ms === undefined ? null : new Date(ms).toISOString();

/**
 * `sluice alerts [--firing] [--json]`: the incidents in the run store, firing first, and the
 * silences that have not ended.
 *
 * @example
 * ```sh
 * sluice alerts --firing --json
 * ```
 */
export const alertsCommand: Command = {
  ...alertsSpec,
  async run(_args, options, io) {
    const json = options['json'] === true;
    try {
      return await withProjectStore(options, io, async ({ store }) => {
        const alerts = new AlertStore(store.db);
        const now = Date.now();
        const incidents = await alerts.incidents({ firing: options['firing'] === true });
        const silences = await alerts.activeSilences(now);
        if (json) {
          io.stdout(
            `${JSON.stringify({ incidents: incidents.map(incidentJSON), silences: silences.map(silenceJSON) })}\n`,
          );
          return ExitCode.success;
        }
        io.stdout(formatIncidents(incidents, now) + formatSilences(silences, now));
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * `sluice alerts silence <matcher> --for 2h [--comment text]`: matching incidents send nothing
 * until the silence ends.
 *
 * @example
 * ```sh
 * sluice alerts silence pipeline=orders_daily --for 2h --comment "source migration"
 * ```
 */
export const alertsSilenceCommand: Command = {
  ...alertsSilenceSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      return await withProjectStore(options, io, async ({ store }) => {
        const silence = await new AlertStore(store.db).silence(
          args[0] as string,
          String(options['for'] ?? '1h'),
          {
            now: Date.now(),
            actor: cliActor(),
            ...(typeof options['comment'] === 'string' ? { comment: options['comment'] } : {}),
            ...(process.env['USER'] === undefined ? {} : { createdBy: process.env['USER'] }),
          },
        );
        io.stdout(
          json
            ? `${JSON.stringify(silenceJSON(silence))}\n`
            : `silenced ${formatMatchers(silence.matchers)} until ${iso(silence.endsAt)} (id ${silence.id}; end it early with: sluice alerts unsilence ${silence.id})\n`,
        );
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * `sluice alerts unsilence <id>`: ends a silence now.
 *
 * @example
 * ```sh
 * sluice alerts unsilence sil_0a1b2c3d4e5f
 * ```
 */
export const alertsUnsilenceCommand: Command = {
  ...alertsUnsilenceSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      return await withProjectStore(options, io, async ({ store }) => {
        const id = args[0] as string;
        if (!(await new AlertStore(store.db).unsilence(id, Date.now(), cliActor())))
          throw new UsageError(`no active silence has the id "${id}"`, {
            hint: 'sluice alerts lists the active silences and their ids',
          });
        io.stdout(json ? `${JSON.stringify({ id, ended: true })}\n` : `ended silence ${id}\n`);
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * `sluice alerts ack <fingerprint>`: acknowledges a firing incident, which stops its repeats and
 * escalation until it resolves.
 *
 * @example
 * ```sh
 * sluice alerts ack 3f0c9a1b
 * ```
 */
export const alertsAckCommand: Command = {
  ...alertsAckSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      return await withProjectStore(options, io, async ({ store }) => {
        const fingerprint = await new AlertStore(store.db).acknowledge(
          String(args[0]).toLowerCase(),
          {
            now: Date.now(),
            actor: cliActor(),
            ...(process.env['USER'] === undefined ? {} : { by: process.env['USER'] }),
          },
        );
        io.stdout(
          json
            ? `${JSON.stringify({ fingerprint, acknowledged: true })}\n`
            : `acknowledged ${fingerprint}: no more repeats or escalation until it resolves\n`,
        );
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

function incidentJSON(i: Incident): object {
  return {
    fingerprint: i.fingerprint,
    rule: i.rule,
    state: i.state,
    severity: i.severity,
    summary: i.summary,
    description: i.description ?? null,
    labels: i.labels,
    startsAt: iso(i.startsAt),
    endsAt: iso(i.endsAt),
    route: i.route ?? null,
    firstNotifiedAt: iso(i.firstNotifiedAt),
    lastNotifiedAt: iso(i.lastNotifiedAt),
    acknowledgedAt: iso(i.acknowledgedAt),
    acknowledgedBy: i.acknowledgedBy ?? null,
    escalatedTo: i.escalatedTo ?? null,
  };
}

function silenceJSON(s: SilenceRecord): object {
  return {
    id: s.id,
    matchers: formatMatchers(s.matchers),
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    comment: s.comment ?? null,
    createdBy: s.createdBy ?? null,
  };
}

function formatIncidents(incidents: readonly Incident[], now: number): string {
  if (incidents.length === 0) return 'no incidents\n';
  const rows = [
    ['FINGERPRINT', 'STATE', 'SEVERITY', 'RULE', 'SINCE', 'SUMMARY'],
    ...incidents.map((i) => [
      i.fingerprint,
      i.state === 'firing' && i.acknowledgedAt !== undefined ? 'firing (ack)' : i.state,
      i.severity,
      i.rule,
      i.state === 'firing'
        ? `${formatDuration(Math.max(0, Math.round((now - i.startsAt) / 1000) * 1000))} ago`
        : `resolved ${iso(i.endsAt) ?? ''}`,
      i.summary,
    ]),
  ];
  return formatColumns(rows);
}

function formatSilences(silences: readonly SilenceRecord[], now: number): string {
  if (silences.length === 0) return '';
  const rows = [
    ['SILENCE', 'MATCHERS', 'ENDS', 'COMMENT'],
    ...silences.map((s) => [
      s.id,
      formatMatchers(s.matchers),
      `in ${formatDuration(Math.max(0, Math.round((s.endsAt - now) / 1000) * 1000))}`,
      s.comment ?? '',
    ]),
  ];
  return `\n${formatColumns(rows)}`;
}
