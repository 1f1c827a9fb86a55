/**
 * Loading, empty and error states, written once so every page says the same thing the same way.
 */
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { ApiError } from '../api';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError(0, 'Error', String(error));
  let hint: ReactNode = null;
  if (e.status === 401) hint = <Link to="/login">Sign in</Link>;
  else if (e.status === 403) hint = 'Your role does not allow this.';
  return (
    <div className="error" role="alert">
      <strong>{e.title}</strong>
      {e.detail ? <> — {e.detail}</> : null}
      {hint ? <div>{hint}</div> : null}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children ? <div className="muted">{children}</div> : null}
    </div>
  );
}

export function PagerControls({ page, hasPrev, hasNext, prev, next, label }: { page: number; hasPrev: boolean; hasNext: boolean; prev(): void; next(): void; label: string }) {
  if (!hasPrev && !hasNext) return null;
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={prev} disabled={!hasPrev}>
        ← Previous
      </button>
      <span aria-live="polite">Page {page}</span>
      <button type="button" onClick={next} disabled={!hasNext}>
        Next →
      </button>
    </nav>
  );
}
