/**
 * Forms and actions that change something: run a request, show what failed, and let the page
 * reload. An inline form owns its submit button and error box; labelled text fields and
 * checkboxes keep their label wrapping the control, so they are found by their label text.
 */
import { useCallback, useState, type InputHTMLAttributes, type ReactNode } from 'react';
import { ErrorBox } from './feedback';

/**
 * The error of the last action, and `run`, which clears it, awaits the action and keeps its
 * failure; it answers whether the action succeeded.
 */
export function useAction(): { error: unknown; busy: boolean; run(action: () => Promise<unknown>): Promise<boolean> } {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setError(null);
    setBusy(true);
    try {
      await action();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, busy, run };
}

/**
 * A form laid out in a row, with its primary submit button (disabled while the request runs, so
 * one click creates one thing) and, below, the error of the last submit.
 */
export function InlineForm({ submit, onSubmit, disabled = false, children }: { submit: string; onSubmit(): Promise<unknown>; disabled?: boolean; children: ReactNode }) {
  const { error, busy, run } = useAction();
  return (
    <>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(onSubmit);
        }}
        className="inline-form"
      >
        {children}
        <button type="submit" className="primary" disabled={disabled || busy}>
          {submit}
        </button>
      </form>
      <ErrorBox error={error} />
    </>
  );
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange'>;

/** A text input inside its label. */
export function Field({ label, value, onChange, ...input }: InputProps & { label: string; value: string; onChange(value: string): void }) {
  return (
    <label>
      {label}
      <input {...input} value={value} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

/** A checkbox followed by its label text. */
export function Check({ label, checked, onChange, ...input }: Omit<InputProps, 'type' | 'checked'> & { label: string; checked: boolean; onChange(checked: boolean): void }) {
  return (
    <label className="check">
      <input type="checkbox" {...input} checked={checked} onChange={(e) => onChange(e.target.checked)} /> {label}
    </label>
  );
}

/** The search box above a list: a type=search input named for screen readers only. */
export function SearchBox({ label, placeholder, value, onChange }: { label: string; placeholder: string; value: string; onChange(value: string): void }) {
  return (
    <div className="toolbar">
      <label className="search">
        <span className="sr-only">{label}</span>
        <input type="search" placeholder={placeholder} value={value} onChange={(e) => onChange(e.target.value)} />
      </label>
    </div>
  );
}
