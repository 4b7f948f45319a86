/**
 * A small PromQL reader: not an evaluator, just enough to say which series an expression reads, with
 * which label matchers, and which labels it groups, joins or relabels by. The observability test checks
 * each against what the platform's exporters and recording rules produce; the report lists them.
 */

export interface SeriesSelector {
    metric: string;
    /** Labels the selector matches on (besides __name__). */
    matchers: string[];
}

export interface PromqlUse {
    selectors: SeriesSelector[];
    /** Labels named in by/without/on/ignoring/group_left/group_right lists. */
    groupingLabels: string[];
    /** label_replace: labels it creates and labels it reads. */
    createdLabels: string[];
    sourceLabels: string[];
}

type Token = { kind: "ident" | "string" | "number" | "punct" | "duration"; text: string };

const IDENT = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const NUMBER = /^(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)/;
const DURATION = /^(?:\d+(?:ms|[smhdwy]))+(?![A-Za-z0-9_:])/;
const PUNCT = /^(?:==|!=|=~|!~|>=|<=|[-+*/%^(){}\[\],=<>@])/;

/** Splits an expression into tokens; range and offset durations inside [] are one token. */
export function tokenize(expr: string): Token[] {
    const out: Token[] = [];
    let i = 0;
    while (i < expr.length) {
        const rest = expr.slice(i);
        const c = expr[i];
        if (/\s/.test(c)) {
            i++;
        } else if (c === "#") {
            const nl = expr.indexOf("\n", i);
            i = nl < 0 ? expr.length : nl;
        } else if (c === '"' || c === "'" || c === "`") {
            let j = i + 1;
            let text = "";
            while (j < expr.length && expr[j] !== c) {
                if (expr[j] === "\\" && c !== "`") j++;
                text += expr[j];
                j++;
            }
            if (j >= expr.length) throw new Error(`unterminated string at ${i} in ${expr}`);
            out.push({ kind: "string", text });
            i = j + 1;
        } else if (c === "[") {
            const j = expr.indexOf("]", i);
            if (j < 0) throw new Error(`unterminated range at ${i} in ${expr}`);
            out.push({ kind: "duration", text: expr.slice(i + 1, j) });
            i = j + 1;
        } else if (DURATION.test(rest)) {
            // offset 5m, @ modifiers and subquery steps outside [].
            const m = DURATION.exec(rest)![0];
            out.push({ kind: "duration", text: m });
            i += m.length;
        } else if (/[0-9.]/.test(c) && NUMBER.test(rest)) {
            const m = NUMBER.exec(rest)![0];
            out.push({ kind: "number", text: m });
            i += m.length;
        } else if (IDENT.test(rest)) {
            const m = IDENT.exec(rest)![0];
            out.push({ kind: "ident", text: m });
            i += m.length;
        } else if (PUNCT.test(rest)) {
            const m = PUNCT.exec(rest)![0];
            out.push({ kind: "punct", text: m });
            i += m.length;
        } else {
            throw new Error(`unexpected "${c}" at ${i} in ${expr}`);
        }
    }
    return out;
}

/** Words that are never series names: operators, modifiers and grouping keywords. */
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "atan2", "Inf", "NaN"]);
const LABEL_LISTS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const MATCH_OPS = new Set(["=", "!=", "=~", "!~"]);

/** Every series an expression selects, and the labels it groups, joins and relabels by. */
export function readPromql(expr: string): PromqlUse {
    const t = tokenize(expr);
    const use: PromqlUse = { selectors: [], groupingLabels: [], createdLabels: [], sourceLabels: [] };
    // Open calls of label_replace: the parenthesis depth of their arguments and the strings seen there.
    const relabels: { depth: number; strings: string[] }[] = [];
    let depth = 0;
    const matchersAt = (i: number): { labels: string[]; name?: string; end: number } => {
        const labels: string[] = [];
        let name: string | undefined;
        let j = i + 1;
        while (j < t.length && t[j].text !== "}") {
            if (t[j].text === ",") {
                j++;
                continue;
            }
            const [label, op, value] = [t[j], t[j + 1], t[j + 2]];
            if (!label || !op || !value || !MATCH_OPS.has(op.text) || value.kind !== "string") {
                throw new Error(`bad label matcher near "${label?.text}" in ${expr}`);
            }
            if (label.text === "__name__") name = value.text;
            else labels.push(label.text);
            j += 3;
        }
        return { labels, name, end: j };
    };
    for (let i = 0; i < t.length; i++) {
        const tok = t[i];
        const next = t[i + 1];
        if (tok.kind === "punct" && tok.text === "(") {
            depth++;
        } else if (tok.kind === "punct" && tok.text === ")") {
            const top = relabels[relabels.length - 1];
            if (top && top.depth === depth) {
                relabels.pop();
                if (top.strings.length >= 3) {
                    use.createdLabels.push(top.strings[0]);
                    use.sourceLabels.push(top.strings[2]);
                }
            }
            depth--;
        } else if (tok.kind === "string") {
            const top = relabels[relabels.length - 1];
            if (top && top.depth === depth) top.strings.push(tok.text);
        } else if (tok.kind === "punct" && tok.text === "{") {
            // A selector without a leading name: {__name__="x", ...}.
            const m = matchersAt(i);
            if (m.name) use.selectors.push({ metric: m.name, matchers: m.labels });
            i = m.end;
        } else if (tok.kind === "ident") {
            if (LABEL_LISTS.has(tok.text) && next?.text === "(") {
                let j = i + 2;
                while (j < t.length && t[j].text !== ")") {
                    if (t[j].kind === "ident") use.groupingLabels.push(t[j].text);
                    j++;
                }
                i = j;
            } else if (KEYWORDS.has(tok.text)) {
                continue;
            } else if (next?.text === "(" || (next && LABEL_LISTS.has(next.text))) {
                // A function or an aggregation (sum by (x) (...)).
                if (tok.text === "label_replace") relabels.push({ depth: depth + 1, strings: [] });
            } else {
                const m = next?.text === "{" ? matchersAt(i + 1) : undefined;
                use.selectors.push({ metric: tok.text, matchers: m?.labels ?? [] });
                if (m) i = m.end;
            }
        }
    }
    use.groupingLabels = [...new Set(use.groupingLabels)];
    return use;
}

/** The series names an expression reads, in order of first use. */
export function seriesOf(expr: string): string[] {
    return [...new Set(readPromql(expr).selectors.map((s) => s.metric))];
}

/**
 * What an expression reads that nothing produces, given series name -> labels it carries: unknown
 * series, matchers on labels the series lacks, and grouping/join/relabel labels that no series the
 * expression reads carries (or that a label_replace in it does not create). Empty when it is sound.
 */
export function unproducedIn(expr: string, produced: Readonly<Record<string, readonly string[]>>): string[] {
    const use = readPromql(expr);
    const problems: string[] = [];
    const available = new Set<string>(use.createdLabels);
    for (const s of use.selectors) {
        const labels = produced[s.metric];
        if (!labels) {
            problems.push(`series ${s.metric} is produced by no exporter or recording rule the platform deploys`);
            continue;
        }
        labels.forEach((l) => available.add(l));
        for (const m of s.matchers.filter((l) => !labels.includes(l))) {
            problems.push(`series ${s.metric} has no label ${m} (it carries ${labels.join(", ") || "none"})`);
        }
    }
    for (const l of [...use.groupingLabels, ...use.sourceLabels]) {
        if (!available.has(l)) {
            problems.push(`label ${l} is carried by none of the series it reads (${[...new Set(use.selectors.map((s) => s.metric))].join(", ")})`);
        }
    }
    return problems;
}
