/**
 * Formatting of sizes, times, digests and platforms, the same way on every page.
 */
import type { Platform } from './api';

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 minutes ago" style, for lists; the exact time goes in a title attribute. */
export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = (t - Date.now()) / 1000;
  const steps: [number, Intl.RelativeTimeFormatUnit][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [30, 'day'],
    [12, 'month'],
    [Infinity, 'year'],
  ];
  let v = s;
  for (const [n, unit] of steps) {
    if (Math.abs(v) < n) return rtf.format(Math.round(v), unit);
    v /= n;
  }
  return iso;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toLocaleString();
}

export function shortDigest(d: string): string {
  const i = d.indexOf(':');
  return i < 0 ? d.slice(0, 12) : `${d.slice(0, i + 1)}${d.slice(i + 1, i + 13)}`;
}

export function platform(p: Platform | null | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The short human name of a media type ("OCI index", "Docker manifest", ...). */
export function mediaTypeLabel(mt: string | null | undefined): string {
  switch (mt) {
    case 'application/vnd.oci.image.index.v1+json':
      return 'OCI index';
    case 'application/vnd.oci.image.manifest.v1+json':
      return 'OCI manifest';
    case 'application/vnd.docker.distribution.manifest.list.v2+json':
      return 'Docker manifest list';
    case 'application/vnd.docker.distribution.manifest.v2+json':
      return 'Docker manifest';
    default:
      return mt ?? 'unknown';
  }
}

export function isIndex(mt: string | null | undefined): boolean {
  return mt === 'application/vnd.oci.image.index.v1+json' || mt === 'application/vnd.docker.distribution.manifest.list.v2+json';
}
