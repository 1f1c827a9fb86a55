/**
 * A confirmation step on a native modal <dialog>: focus moves into it, Escape cancels, and the
 * destructive action runs only after an explicit click on the named button.
 */
import { useEffect, useRef, useState } from 'react';
import { ErrorBox } from './feedback';

export interface ConfirmProps {
  open: boolean;
  title: string;
  body: string;
  action: string;
  onConfirm(): Promise<void>;
  onClose(): void;
}

export function ConfirmDialog({ open, title, body, action, onConfirm, onClose }: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      setError(null);
      d.showModal();
    } else if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="confirm-title" className="dialog">
      <h2 id="confirm-title">{title}</h2>
      <p>{body}</p>
      <ErrorBox error={error} />
      <div className="actions">
        <button type="button" onClick={onClose} autoFocus>
          Cancel
        </button>
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            setError(null);
            onConfirm().then(
              () => {
                setBusy(false);
                onClose();
              },
              (e: unknown) => {
                setBusy(false);
                setError(e);
              },
            );
          }}
        >
          {busy ? 'Working…' : action}
        </button>
      </div>
    </dialog>
  );
}
