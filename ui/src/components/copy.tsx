/**
 * Copy-to-clipboard: the async Clipboard API where the page is a secure context, else a hidden
 * textarea and execCommand (plain-HTTP registries on a LAN name are not secure contexts).
 */
import { useState } from 'react';

export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  try {
    document.execCommand('copy');
  } finally {
    ta.remove();
  }
}

export function CopyButton({ text, label = '' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'done' | 'failed'>('idle');
  return (
    <button
      type="button"
      className="copy"
      onClick={() => {
        copyText(text).then(
          () => setState('done'),
          () => setState('failed'),
        );
        setTimeout(() => setState('idle'), 1500);
      }}
    >
      {state === 'done' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}
      <span className="sr-only"> {label}</span>
    </button>
  );
}

/** A command or secret shown in monospace with its copy button. */
export function CopyField({ text, label }: { text: string; label: string }) {
  return (
    <div className="copy-field">
      <code>{text}</code>
      <CopyButton text={text} label={label} />
    </div>
  );
}
