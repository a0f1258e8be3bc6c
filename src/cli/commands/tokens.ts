import { UsageError } from '../../core/errors.js';
import { cliActor } from '../cli-actor.js';
import { APITokens, parseRole } from '../../orchestrator/api-tokens.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { withProjectStore } from '../orchestrator-options.js';
import { presentError } from '../present-error.js';
import { formatColumns } from '../text-table.js';
import { tokensCreateSpec, tokensListSpec, tokensRevokeSpec } from '../specs/tokens.js';

/**
 * `sluice tokens create <name> --role <role>`: creates an API token of `sluice serve --http`
 * and prints it once (only its sha256 digest is stored).
 *
 * @example
 * ```sh
 * sluice tokens create deploy-bot --role trigger
 * ```
 */
export const tokensCreateCommand: Command = {
  ...tokensCreateSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      if (options['role'] === undefined)
        throw new UsageError('tokens create needs --role', {
          hint: 'read (GET endpoints), trigger (also queue runs and post webhooks) or admin (everything)',
        });
      const role = parseRole(String(options['role']));
      return await withProjectStore(options, io, async ({ store: opened }) => {
        const store = opened.withAuditActor(cliActor());
        const { token, record } = await new APITokens(store).create(args[0] as string, role);
        io.stdout(
          json
            ? `${JSON.stringify({ name: record.name, role: record.role, createdAt: new Date(record.createdAt).toISOString(), token })}\n`
            : [
                `created token "${record.name}" with the ${record.role} role:`,
                '',
                `  ${token}`,
                '',
                'It is shown only now; keep it in a secret store. Send it as "Authorization: Bearer <token>".',
                '',
              ].join('\n'),
        );
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * `sluice tokens list`: names, roles, when each was created and last used; never the tokens.
 *
 * @example
 * ```sh
 * sluice tokens list --json
 * ```
 */
export const tokensListCommand: Command = {
  ...tokensListSpec,
  async run(_args, options, io) {
    const json = options['json'] === true;
    try {
      return await withProjectStore(options, io, async ({ store: opened }) => {
        const store = opened.withAuditActor(cliActor());
        const tokens = await new APITokens(store).list();
        const iso = (ms: number | undefined): string | null =>
          ms === undefined ? null : new Date(ms).toISOString();
        if (json) {
          io.stdout(
            `${JSON.stringify(
              tokens.map((t) => ({
                name: t.name,
                role: t.role,
                createdAt: iso(t.createdAt),
                lastUsedAt: iso(t.lastUsedAt),
              })),
            )}\n`,
          );
          return ExitCode.success;
        }
        if (tokens.length === 0) {
          io.stdout('no API tokens (create one: sluice tokens create <name> --role <role>)\n');
          return ExitCode.success;
        }
        const rows = [
          ['NAME', 'ROLE', 'CREATED', 'LAST USED'],
          ...tokens.map((t) => [
            t.name,
            t.role,
            iso(t.createdAt) ?? '',
            iso(t.lastUsedAt) ?? 'never',
          ]),
        ];
        io.stdout(formatColumns(rows));
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * `sluice tokens revoke <name>`: deletes a token; requests carrying it are refused (401) from
 * then on.
 *
 * @example
 * ```sh
 * sluice tokens revoke deploy-bot
 * ```
 */
export const tokensRevokeCommand: Command = {
  ...tokensRevokeSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      return await withProjectStore(options, io, async ({ store: opened }) => {
        const store = opened.withAuditActor(cliActor());
        const name = args[0] as string;
        if (!(await new APITokens(store).revoke(name)))
          throw new UsageError(`no API token named "${name}"`, {
            hint: 'sluice tokens list shows the names',
          });
        io.stdout(
          json ? `${JSON.stringify({ name, revoked: true })}\n` : `revoked token "${name}"\n`,
        );
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/** The `sluice tokens` commands. */
export const tokensCommands: readonly Command[] = [
  tokensCreateCommand,
  tokensListCommand,
  tokensRevokeCommand,
];
