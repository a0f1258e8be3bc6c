// The Sluice web UI: a Preact app served by `sluice serve --http` at "/", over /api/v1.
// Views are hash routes (shareable URLs); the pipeline view's graph layout loads lazily.
import './styles.css';
import type { VNode } from 'preact';
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Session } from './api.js';
import { APIError, api, readToken, setUnauthorizedHandler, writeToken } from './api.js';
import { ErrorBox, Loading } from './components.js';
import { startLiveUpdates, stopLiveUpdates } from './live.js';
import type { Route } from './router.js';
import { href, navigate, useRoute } from './router.js';
import { AlertsView } from './views/alerts.js';
import { DatasetView, DatasetsView } from './views/datasets.js';
import { LoginView } from './views/login.js';
import { OverviewView } from './views/overview.js';
import { PipelineView } from './views/pipeline.js';
import { PipelinesView } from './views/pipelines.js';
import { RunView } from './views/run.js';
import { StreamsView } from './views/streams.js';

type Theme = 'light' | 'dark';

function systemTheme(): Theme {
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function useTheme(): [Theme, () => void] {
  const [chosen, setChosen] = useState<Theme | null>(() => {
    try {
      const saved = localStorage.getItem('sluice.theme');
      return saved === 'dark' || saved === 'light' ? saved : null;
    } catch {
      return null;
    }
  });
  const [system, setSystem] = useState<Theme>(systemTheme);
  useEffect(() => {
    // Follows the system's choice while the user has not made one.
    const query = matchMedia('(prefers-color-scheme: dark)');
    const changed = (): void => setSystem(query.matches ? 'dark' : 'light');
    query.addEventListener('change', changed);
    return () => query.removeEventListener('change', changed);
  }, []);
  const theme = chosen ?? system;
  useEffect(() => {
    document.documentElement.dataset['theme'] = theme;
  }, [theme]);
  const toggle = useCallback(() => {
    const next: Theme = theme === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem('sluice.theme', next);
    } catch {
      // not kept across visits
    }
    setChosen(next);
  }, [theme]);
  return [theme, toggle];
}

function App(): VNode {
  const route = useRoute();
  const [theme, toggleTheme] = useTheme();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [sessionError, setSessionError] = useState<Error | undefined>(undefined);
  const main = useRef<HTMLElement>(null);

  const loadSession = useCallback(async (): Promise<void> => {
    try {
      const current = await api<Session>('/session');
      setSession(current);
      setSessionError(undefined);
      startLiveUpdates();
    } catch (error) {
      if (error instanceof APIError && error.status === 401) setSession(null);
      else setSessionError(error instanceof Error ? error : new Error(String(error)));
    }
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      stopLiveUpdates();
      setSession(null);
      const here = location.hash;
      if (!here.startsWith('#/login')) navigate(href(['login'], { next: here }), true);
    });
    void loadSession();
    return () => stopLiveUpdates();
  }, [loadSession]);

  // A new view takes the focus to its main region, so keyboard and screen reader users start there.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [route.parts.join('/')]);

  const signedIn = session !== null && session !== undefined;
  const onLogin = (next: Session, token: string): void => {
    writeToken(token);
    setSession(next);
    startLiveUpdates();
    const target = route.query.get('next');
    navigate(
      target !== null && target.startsWith('#/') && !target.startsWith('#/login') ? target : '#/',
      true,
    );
  };
  const logout = (): void => {
    writeToken(null);
    stopLiveUpdates();
    setSession(null);
    navigate('#/login', true);
  };

  let content: VNode;
  if (sessionError !== undefined) content = <ErrorBox error={sessionError} />;
  else if (session === undefined) content = <Loading what="the session" />;
  else if (session === null || route.parts[0] === 'login')
    content =
      signedIn && session.tokenRequired === false ? (
        <Redirect to="#/" />
      ) : (
        <LoginView onLogin={onLogin} expired={readToken() !== null} />
      );
  else content = <View route={route} session={session} />;

  const section = route.parts[0] ?? '';
  return (
    <>
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          main.current?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Sluice
        </a>
        {signedIn && (
          <nav aria-label="Main">
            <ul>
              <li>
                <a href="#/" aria-current={section === '' ? 'page' : undefined}>
                  Overview
                </a>
              </li>
              <li>
                <a href="#/pipelines" aria-current={section === 'pipelines' ? 'page' : undefined}>
                  Pipelines
                </a>
              </li>
              <li>
                <a href="#/datasets" aria-current={section === 'datasets' ? 'page' : undefined}>
                  Datasets
                </a>
              </li>
              <li>
                <a href="#/streams" aria-current={section === 'streams' ? 'page' : undefined}>
                  Streams
                </a>
              </li>
              <li>
                <a href="#/alerts" aria-current={section === 'alerts' ? 'page' : undefined}>
                  Alerts
                </a>
              </li>
            </ul>
          </nav>
        )}
        <div class="top-right">
          {signedIn && (
            <span class="muted who">
              {session.name} ({session.role})
            </span>
          )}
          <button type="button" onClick={toggleTheme} aria-pressed={theme === 'dark'}>
            Dark theme
          </button>
          {signedIn && session.tokenRequired && (
            <button type="button" onClick={logout}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {content}
      </main>
    </>
  );
}

function Redirect({ to }: { to: string }): null {
  useEffect(() => navigate(to, true), [to]);
  return null;
}

function View({ route, session }: { route: Route; session: Session }): VNode {
  const [section, id] = route.parts;
  if (section === undefined) return <OverviewView />;
  if (section === 'pipelines' && id === undefined) return <PipelinesView />;
  if (section === 'pipelines' && id !== undefined)
    return <PipelineView name={id} session={session} route={route} />;
  if (section === 'runs' && id !== undefined)
    return <RunView id={id} session={session} route={route} />;
  if (section === 'datasets' && id === undefined) return <DatasetsView route={route} />;
  if (section === 'datasets' && id !== undefined) return <DatasetView id={id} />;
  if (section === 'streams' && id === undefined) return <StreamsView />;
  if (section === 'alerts' && id === undefined) return <AlertsView session={session} />;
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no view at this address. Go to the <a href="#/">overview</a> or the{' '}
        <a href="#/pipelines">pipelines</a>.
      </p>
    </>
  );
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
