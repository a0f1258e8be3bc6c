// The login view: a token, checked with GET /api/v1/session, kept in sessionStorage.
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import type { Session } from '../api.js';
import { APIError, api } from '../api.js';

/**
 * Asks for an API token and checks it before keeping it.
 *
 * @example
 * ```tsx
 * <LoginView onLogin={(session, token) => start(session, token)} expired={false} />
 * ```
 */
export function LoginView(props: {
  onLogin: (session: Session, token: string) => void;
  expired: boolean;
}): VNode {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const value = token.trim();
    if (value === '') {
      setError('Enter an API token (sluice tokens create --name you --role read prints one).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const session = await api<Session>('/session', { token: value });
      props.onLogin(session, value);
    } catch (failure) {
      setError(
        failure instanceof APIError && failure.status === 401
          ? 'The server does not know this token. Check it, or create one with sluice tokens create.'
          : failure instanceof Error
            ? failure.message
            : String(failure),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="login">
      <h1>Sign in</h1>
      {props.expired && (
        <p class="muted">The server refused the token of this tab; sign in again.</p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-describedby="token-help"
          required
        />
        <p id="token-help" class="muted">
          The token is kept in this tab only (sessionStorage) and sent as a Bearer token.
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
