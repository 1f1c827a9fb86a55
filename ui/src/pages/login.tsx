/**
 * Sign-in with the identity provider's button (when auth.oidc is configured) or a local
 * account; on success returns to the page that asked (?next=).
 */
import { useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../api';
import { ErrorBox } from '../components/feedback';
import { useApi, useTitle } from '../hooks';
import { useSession } from '../session';

export function LoginPage() {
  useTitle('Sign in');
  const { signIn, user } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const next = params.get('next') ?? '/';
  const providers = useApi('/auth/providers');
  const oidc = providers.data?.oidc;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password);
      navigate(next.startsWith('/') ? next : '/', { replace: true });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new ApiError(401, 'Wrong user name or password') : err);
      setBusy(false);
    }
  }

  return (
    <section className="narrow">
      <h1>Sign in</h1>
      {user ? <p>You are signed in as {user.name}.</p> : null}
      {oidc ? (
        <p>
          <a className="button primary" href={`${oidc.loginUrl}?next=${encodeURIComponent(next.startsWith('/') ? next : '/')}`}>
            {oidc.label}
          </a>
        </p>
      ) : null}
      {oidc ? <p className="muted">Or sign in with a local account:</p> : null}
      <form onSubmit={submit} className="stack">
        <label>
          User name
          <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error ? <ErrorBox error={error} /> : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
