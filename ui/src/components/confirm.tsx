/**
 * A confirmation step on a native modal <dialog>: focus moves into it, Escape cancels, and the
 * destructive action runs only after an explicit click on the named button. `useConfirm` ties
 * one such dialog to the item a row button asks about.
 */
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
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
  // Several dialogs may share a page (members, robots, the project itself): one id each.
  const titleId = useId();
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
    <dialog ref={ref} onClose={onClose} aria-labelledby={titleId} className="dialog">
      <h2 id={titleId}>{title}</h2>
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

export type ConfirmText = Pick<ConfirmProps, 'title' | 'body' | 'action' | 'onConfirm'>;

/**
 * A confirmation about one item at a time: `ask(item)` opens the dialog that `describe(item)`
 * words, and its action. The dialog stays mounted (closing keeps the last item's words) so the
 * native dialog closes itself and hands focus back to the button that opened it.
 */
export function useConfirm<T>(describe: (item: T) => ConfirmText): [ask: (item: T) => void, dialog: ReactNode] {
  const [state, setState] = useState<{ item: T; open: boolean } | null>(null);
  const text = state ? describe(state.item) : { title: '', body: '', action: '', onConfirm: async () => {} };
  const dialog = <ConfirmDialog open={state?.open ?? false} {...text} onClose={() => setState((s) => (s ? { ...s, open: false } : s))} />;
  return [(item: T) => setState({ item, open: true }), dialog];
}
