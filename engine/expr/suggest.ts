/** "Did you mean" for unknown tag names: restricted edit distance over code points (works for 城市/城巿). */

/**
 * Up to `max` candidates nearest to `name`, nearest first (ties by name). Case is ignored when measuring.
 * A candidate qualifies when its distance is small for the name's length, or when one name contains
 * the other (`spend` → `spend_90d`). Example: `suggestNames("cty", ["city", "age"])` → `["city"]`.
 */
export function suggestNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  const target = Array.from(name.toLowerCase());
  // a distance equal to the length would mean "nothing in common"
  const limit = Math.min(Math.max(2, Math.ceil(target.length / 3)), Math.max(1, target.length - 1));
  const found: { name: string; distance: number }[] = [];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (seen.has(candidate) || candidate === name) continue;
    seen.add(candidate);
    const other = Array.from(candidate.toLowerCase());
    const lower = candidate.toLowerCase();
    const lowerName = name.toLowerCase();
    const contains =
      Math.min(target.length, other.length) >= 3 && (lower.includes(lowerName) || lowerName.includes(lower));
    if (!contains && Math.abs(other.length - target.length) > limit) continue;
    const distance = editDistance(target, other);
    if (distance <= limit || contains) found.push({ name: candidate, distance });
  }
  found.sort((a, b) => a.distance - b.distance || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return found.slice(0, max).map((f) => f.name);
}

/** Optimal string alignment distance: insert, delete, substitute, swap two neighbours — each costs 1. */
export function editDistance(a: readonly string[], b: readonly string[]): number {
  const n = b.length;
  let before = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      cur[j] = d;
    }
    [before, prev, cur] = [prev, cur, before];
  }
  return prev[n]!;
}
