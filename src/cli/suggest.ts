// "did you mean" for a mistyped command or flag: the closest known name by edit distance, or none
// when nothing is close. Loaded only on the usage-error path, never by an ordinary call.

/**
 * Damerau–Levenshtein distance (optimal string alignment): insertions, deletions, substitutions
 * and swaps of two neighbours each cost 1, so `lsit` is one step from `list`.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[][] = Array.from({length: rows}, (_, i) => Array.from({length: cols}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2][j - 2] + 1)
      d[i][j] = best
    }
  }
  return d[a.length][b.length]
}

/**
 * The candidate closest to `input`, if it is close enough to be a likely typo: at most a third of
 * the input's length in edits (at least 1, at most 3), or a prefix of at least three characters
 * (`--names` for `--namespace`). Ties go to the earlier candidate.
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const bare = (s: string) => s.replace(/^-+/, '')
  const word = bare(input)
  // One letter is one edit from every other letter: no guess is better than a random one.
  if (word.length < 2) return undefined
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)))
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    if (candidate === input) continue
    const other = bare(candidate)
    const distance = word.length >= 3 && other.startsWith(word) ? 1 : editDistance(word, other)
    if (distance <= limit && distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/**
 * `; did you mean "<prefix><name>"?` for the closest candidate, else `; <fallback>` (or nothing).
 * Compare words alone (a verb with the topic's verbs) and give the rest as `prefix`: a long common
 * part would make far words look close.
 */
export function suggestion(input: string, candidates: Iterable<string>, fallback?: string, prefix = ''): string {
  const match = closest(input, candidates)
  if (match !== undefined) return `; did you mean ${JSON.stringify(prefix + match)}?`
  return fallback === undefined ? '' : `; ${fallback}`
}
