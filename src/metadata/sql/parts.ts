/** Splits a list into parts of at most `size` (bound parameter lists stay small). */
export function inParts<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
