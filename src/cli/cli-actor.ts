import { userInfo } from 'node:os';

/**
 * The audit log's actor for what a command does: `user:` and the operating-system user the
 * process runs as, read from the system's user database rather than `$USER`, which any caller
 * can set; `uid:<n>` for a uid without a name.
 *
 * @example
 * ```ts
 * await withProjectStore(options, io, ({ store }) => store.withAuditActor(cliActor()).setPaused(name, true));
 * ```
 */
export function cliActor(): string {
  try {
    return `user:${userInfo().username}`;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}
