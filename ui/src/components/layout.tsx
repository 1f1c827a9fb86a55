/**
 * The page shell: a skip link, the header with navigation (collapsing into a menu button at
 * phone widths), the theme toggle and the account controls, then the routed page.
 */
import { useEffect, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useSession } from '../session';
import { applyTheme, loadTheme, nextTheme, type ThemeChoice } from '../theme';

export function Layout() {
  const { user, authEnabled, signOut } = useSession();
  const [theme, setTheme] = useState<ThemeChoice>(loadTheme);
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  const navigate = useNavigate();
  useEffect(() => applyTheme(theme), [theme]);
  useEffect(() => setMenuOpen(false), [location.pathname]);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand" aria-label="Berth home">
          <span aria-hidden="true">⚓</span> Berth
        </Link>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((o) => !o)}>
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menuOpen ? 'open' : ''}>
          <NavLink to="/" end>
            Projects
          </NavLink>
          <NavLink to="/repositories">Repositories</NavLink>
          <NavLink to="/caches">Caches</NavLink>
          {user ? <NavLink to="/tokens">Access tokens</NavLink> : null}
          {user?.admin ? <NavLink to="/admin">Administration</NavLink> : null}
        </nav>
        <div className="account">
          <button type="button" className="ghost" onClick={() => setTheme(nextTheme)} title="Change theme (automatic, light, dark)">
            <span aria-hidden="true">{theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'} </span>
            Theme: {theme === 'system' ? 'auto' : theme}
          </button>
          {user ? (
            <>
              <span className="whoami" title={user.admin ? 'Administrator' : undefined}>
                {user.name}
                {user.admin ? ' (admin)' : ''}
              </span>
              <button
                type="button"
                onClick={() => {
                  void signOut().finally(() => navigate('/login'));
                }}
              >
                Sign out
              </button>
            </>
          ) : authEnabled ? (
            <Link className="button" to="/login">
              Sign in
            </Link>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}
