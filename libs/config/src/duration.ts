const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `5s`, `2m`, `1h`, `7d` into milliseconds; returns undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  const factor = unit ? units[unit] : undefined;
  return amount && factor ? Number(amount) * factor : undefined;
}

/** The canonical short form used in queue names: 1000 → `1s`, 120000 → `2m`, 1500 → `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, factor] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= factor && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}
