/**
 * Cron schedules as Argo's CronWorkflow controller reads them (robfig/cron's standard parser: five
 * fields, or a descriptor such as @daily). A problem says which field is wrong and what it allows.
 */
const DESCRIPTORS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS = [
    { name: "minute", min: 0, max: 59, names: [] as string[] },
    { name: "hour", min: 0, max: 23, names: [] as string[] },
    { name: "day of month", min: 1, max: 31, names: [] as string[] },
    { name: "month", min: 1, max: 12, names: MONTHS },
    { name: "day of week", min: 0, max: 6, names: DAYS },
];

export const CRON_ALLOWED =
    `five fields "minute hour day-of-month month day-of-week" (e.g. "0 2 * * *": 02:00 every day; ranges a-b, lists a,b, steps */n; months JAN-DEC, days SUN-SAT), or one of ${DESCRIPTORS.join(", ")}, or @every <duration>`;

function value(text: string, field: (typeof FIELDS)[number], offset: number): number | undefined {
    if (/^\d+$/.test(text)) {
        const n = Number(text);
        return n >= field.min && n <= field.max ? n : undefined;
    }
    const i = field.names.indexOf(text.toUpperCase());
    return i < 0 ? undefined : i + offset;
}

function fieldProblem(text: string, field: (typeof FIELDS)[number]): string | undefined {
    const offset = field.names === MONTHS ? 1 : 0;
    for (const part of text.split(",")) {
        const [range, step, extra] = part.split("/");
        if (extra !== undefined || (step !== undefined && !/^[1-9]\d*$/.test(step))) {
            return `the ${field.name} field "${text}" has a bad step "${part}"`;
        }
        if (range === "*" || range === "?") continue;
        const [from, to, more] = range.split("-");
        const a = value(from, field, offset);
        const b = to === undefined ? a : value(to, field, offset);
        if (more !== undefined || a === undefined || b === undefined || b < a) {
            return `the ${field.name} field "${text}" is outside ${field.min}-${field.max}${field.names.length ? ` (or ${field.names[0]}-${field.names[field.names.length - 1]})` : ""}`;
        }
    }
    return undefined;
}

/** What is wrong with a schedule, or undefined when the controller accepts it. */
export function cronProblem(schedule: string): string | undefined {
    const s = schedule.trim();
    if (s.startsWith("@")) {
        if (DESCRIPTORS.includes(s)) return undefined;
        if (/^@every \d+(\.\d+)?(ns|us|µs|ms|s|m|h)(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))*$/.test(s)) return undefined;
        return `is not a known descriptor`;
    }
    const parts = s.split(/\s+/);
    if (parts.length !== 5) {
        return `has ${parts.length} field(s), not 5`;
    }
    for (let i = 0; i < 5; i++) {
        const problem = fieldProblem(parts[i], FIELDS[i]);
        if (problem) return problem;
    }
    return undefined;
}
