/**
 * The signed-in user: probed once with GET /auth/me, set by the login form, cleared by sign-out
 * or by any 401. `authEnabled` is false when the registry has no /auth endpoints (open mode).
 */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, onUnauthorized, setCsrfToken, type User } from './api';

interface SessionState {
  ready: boolean;
  user: User | null;
  authEnabled: boolean;
  signIn(username: string, password: string): Promise<void>;
  signOut(): Promise<void>;
}

const Ctx = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [ready, setReady] = useState(false);
  const [user, setUser] = useState<User | null>(null);
  const [authEnabled, setAuthEnabled] = useState(true);

  useEffect(() => {
    api.get('/auth/me', { quiet401: true }).then(
      (s) => {
        setCsrfToken(s.csrfToken);
        setUser(s.user);
        setReady(true);
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 404) setAuthEnabled(false);
        setReady(true);
      },
    );
    return onUnauthorized(() => {
      setCsrfToken(null);
      setUser(null);
    });
  }, []);

  const signIn = useCallback(async (username: string, password: string) => {
    const s = await api.post('/auth/login', { body: { username, password }, quiet401: true });
    setCsrfToken(s.csrfToken);
    setUser(s.user);
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.post('/auth/logout', { quiet401: true });
    } finally {
      setCsrfToken(null);
      setUser(null);
    }
  }, []);

  return <Ctx.Provider value={{ ready, user, authEnabled, signIn, signOut }}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
