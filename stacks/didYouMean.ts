/**
 * "Did you mean" for misspelt config keys: the closest known key by edit distance (insertions,
 * deletions, substitutions and swaps of neighbours, case ignored), when it is close enough to be a
 * typo rather than another word. Pure.
 */

/** Optimal string alignment distance (Levenshtein plus transposition of adjacent characters). */
export function editDistance(a: string, b: string): number {
    const rows = a.length + 1;
    const cols = b.length + 1;
    const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i < rows; i++) {
        for (let j = 1; j < cols; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
                d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.length][b.length];
}

/** How far a typo may be from the word meant: a third of the shorter word's length, at least 1. */
export function typoBudget(a: string, b: string): number {
    return Math.max(1, Math.floor(Math.min(a.length, b.length) / 3));
}

/**
 * The known word `word` most likely misspells, or undefined when none is within the typo budget (or
 * the word is itself known). Ties go to the earlier candidate, so the answer is deterministic.
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
    if (candidates.includes(word)) {
        return undefined;
    }
    let best: { candidate: string; distance: number } | undefined;
    for (const candidate of candidates) {
        const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
        if (distance <= typoBudget(word, candidate) && (best === undefined || distance < best.distance)) {
            best = { candidate, distance };
        }
    }
    return best?.candidate;
}
