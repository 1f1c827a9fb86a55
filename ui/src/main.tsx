/**
 * Entry point: theme, session, and the routes. Repository names contain slashes, so repository
 * pages use a splat route and "/-/" separates the name from what follows (no repository path
 * component can be a bare "-").
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { Layout } from './components/layout';
import { AdminPage } from './pages/admin';
import { LoginPage } from './pages/login';
import { NotFound } from './pages/not-found';
import { ProjectPage } from './pages/project';
import { ProjectSettingsPage } from './pages/project-settings';
import { ProjectsPage } from './pages/projects';
import { RepositoriesPage } from './pages/repositories';
import { RepoRoute } from './pages/repo-route';
import { CachesPage } from './pages/caches';
import { TokensPage } from './pages/tokens';
import { SessionProvider } from './session';
import { applyTheme, loadTheme } from './theme';
import './styles.css';

applyTheme(loadTheme());

const router = createBrowserRouter(
  [
    {
      element: <Layout />,
      children: [
        { index: true, element: <ProjectsPage /> },
        { path: 'login', element: <LoginPage /> },
        { path: 'projects/:name', element: <ProjectPage /> },
        { path: 'projects/:name/settings', element: <ProjectSettingsPage /> },
        { path: 'repositories', element: <RepositoriesPage /> },
        { path: 'r/*', element: <RepoRoute /> },
        { path: 'tokens', element: <TokensPage /> },
        { path: 'caches', element: <CachesPage /> },
        { path: 'admin', element: <AdminPage /> },
        { path: 'admin/:tab', element: <AdminPage /> },
        { path: '*', element: <NotFound /> },
      ],
    },
  ],
  { basename: '/ui' },
);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SessionProvider>
      <RouterProvider router={router} />
    </SessionProvider>
  </StrictMode>,
);
