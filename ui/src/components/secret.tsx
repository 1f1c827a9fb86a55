/**
 * A credential shown once, right after it was created: a status panel that says so, the copy
 * fields the caller passes, and a button that dismisses it for good (nothing lists it again).
 */
import type { ReactNode } from 'react';

export function SecretOnce({ title, note, dismiss, onDismiss, children }: { title: string; note: string; dismiss: string; onDismiss(): void; children: ReactNode }) {
  return (
    <div className="secret" role="status">
      <p>
        <strong>{title}</strong> {note}
      </p>
      {children}
      <button type="button" onClick={onDismiss}>
        {dismiss}
      </button>
    </div>
  );
}
