/**
 * Lists as tables, written once: the scrollable, keyboard-reachable wrapper with its column
 * heads (numeric columns right-aligned, an unlabelled actions column named for screen readers),
 * and the states around a loaded list (error, loading, empty, rows).
 */
import type { ReactNode } from 'react';
import type { Page } from '../api';
import type { Loaded } from '../hooks';
import { ErrorBox, Loading } from './feedback';

/** A column head: its label, or [label, 'num'] for a right-aligned number column. */
export type Column = string | readonly [string, 'num'];

export interface DataTableProps {
  columns: readonly Column[];
  /** Adds the last column, for per-row buttons. */
  actions?: boolean;
  /** Screen-reader caption (visible with captionClass="caption"). */
  caption?: ReactNode;
  captionClass?: string;
  className?: string;
  busy?: boolean;
  children: ReactNode;
}

export function DataTable({ columns, actions = false, caption, captionClass = 'sr-only', className, busy, children }: DataTableProps) {
  return (
    <div className="table-wrap" tabIndex={0}>
      <table className={className} aria-busy={busy}>
        {caption !== undefined ? <caption className={captionClass}>{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((c) =>
              typeof c === 'string' ? (
                <th key={c} scope="col">
                  {c}
                </th>
              ) : (
                <th key={c[0]} scope="col" className="num">
                  {c[0]}
                </th>
              ),
            )}
            {actions ? (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export interface ListingProps<T> {
  list: Loaded<Page<T>>;
  /** What an empty list shows (an <Empty>). */
  empty: ReactNode;
  /** The loading text while nothing is loaded yet; false for panels that stay quiet. */
  loading?: string | false;
  /** The error to show instead of the list's own (e.g. a failed row action too). */
  error?: unknown;
  /** Renders the non-empty items (usually a DataTable). */
  children(items: T[]): ReactNode;
}

export function Listing<T>({ list, empty, loading = 'Loading', error = list.error, children }: ListingProps<T>) {
  const items = list.data?.items;
  return (
    <>
      <ErrorBox error={error} />
      {loading !== false && list.loading && !list.data ? <Loading what={loading} /> : null}
      {items && items.length === 0 ? empty : null}
      {items && items.length > 0 ? children(items) : null}
    </>
  );
}

/** The actions cell of a row whose one action is destructive (it opens a confirmation). */
export function DangerCell({ label, onClick }: { label: string; onClick(): void }) {
  return (
    <td className="actions-cell">
      <button type="button" className="danger" onClick={onClick}>
        {label}
      </button>
    </td>
  );
}
