/**
 * Label / value lists as <dl>: the figures across the top of a page ("facts") and the key/value
 * grids of configs, labels and annotations ("kv"). Each pair sits in its own <div>, which a
 * description list allows and the CSS lays out.
 */
import type { ReactNode } from 'react';

export type Fact = readonly [label: string, value: ReactNode];

export function Facts({ facts, className = 'facts' }: { facts: readonly Fact[]; className?: string }) {
  return (
    <dl className={className}>
      {facts.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
