/**
 * How training reaches its data: each training entry's declared S3 prefixes (`training[].data`, read;
 * `training[].output`, write) and the data-sync entries that copy an S3 prefix into the training-data
 * claim (`ml-platform:dataSync`). Validation rules across those keys, and the resolved specs. Pure.
 */
import { NAMESPACE, problemLine } from "./errors";
import { prefixesOverlap, S3Access } from "./s3Access";
import { parseS3Uri, S3Location, s3UriProblem } from "./s3Uri";
import { DataSyncConfig, TrainingConfig } from "./schema";
import { DataSyncSpec, NAMESPACES, NodePoolSpec, systemPoolOf, TrainingSpec } from "./spec";

const location = (uri: string | undefined): S3Location | undefined => (uri !== undefined && !s3UriProblem(uri) ? parseS3Uri(uri) : undefined);

/** The normalised URIs a training spec carries. */
export function trainingAccessOf(t: Pick<TrainingConfig, "data" | "output">): { data?: string; output?: string } {
    const data = location(t.data);
    const output = location(t.output);
    return { ...(data ? { data: data.uri } : {}), ...(output ? { output: output.uri } : {}) };
}

/** What a training run's role may do: read its data prefix, write its output prefix. */
export function trainingS3Access(t: Pick<TrainingSpec, "data" | "output">): S3Access {
    return { read: t.data ? [parseS3Uri(t.data)] : [], write: t.output ? [parseS3Uri(t.output)] : [] };
}

/** What a data-sync Job's role may do: read its source, nothing else. */
export function dataSyncS3Access(d: Pick<DataSyncSpec, "source">): S3Access {
    return { read: [parseS3Uri(d.source)], write: [] };
}

export function dataSyncSpecs(entries: DataSyncConfig[], pools: NodePoolSpec[]): DataSyncSpec[] {
    const pool = systemPoolOf(pools)?.name ?? "";
    return entries.map((d) => ({ name: d.name, namespace: NAMESPACES.training, source: parseS3Uri(d.source).uri, path: d.path.replace(/\/$/, ""), pool }));
}

function pathsOverlap(a: string, b: string): boolean {
    const [x, y] = [`${a.replace(/\/$/, "")}/`, `${b.replace(/\/$/, "")}/`];
    return x.startsWith(y) || y.startsWith(x);
}

/**
 * Output never inside (or around) the data prefix, since write there would break "read-only data";
 * output names a prefix, never a whole bucket; data-sync names are unique and apart from training
 * names (each names a service account in the training namespace); data-sync folders do not nest.
 */
export function checkTrainingAccess(training: TrainingConfig[], dataSync: DataSyncConfig[], problems: string[]) {
    training.forEach((t, i) => {
        const where = `${NAMESPACE}:training[${i}]`;
        const data = location(t.data);
        const output = location(t.output);
        if (output && output.prefix === "") {
            problems.push(problemLine(`${where}.output`, "must name a prefix, not a whole bucket: the run's role may write only there", t.output, "s3://<bucket>/<prefix>/, e.g. s3://ml-results/bert-finetune/"));
        }
        if (data && output && prefixesOverlap(data, output)) {
            problems.push(
                problemLine(`${where}.output`, `must not overlap training[${i}].data (${data.uri}): the data prefix stays read-only`, t.output, "a prefix outside the data prefix, e.g. a separate results/ prefix"),
            );
        }
    });
    const names = new Map<string, string>(training.map((t, i) => [t.name, `${NAMESPACE}:training[${i}].name`]));
    dataSync.forEach((d, i) => {
        const where = `${NAMESPACE}:dataSync[${i}]`;
        const first = names.get(d.name);
        if (first) {
            problems.push(`${where}.name must be unique across training and dataSync (each names a service account in ${NAMESPACES.training}), got "${d.name}" (also at ${first})`);
        } else {
            names.set(d.name, `${where}.name`);
        }
        dataSync.slice(0, i).forEach((e, j) => {
            if (pathsOverlap(d.path, e.path)) {
                problems.push(problemLine(`${where}.path`, `must not nest with dataSync[${j}].path ("${e.path}"): two Jobs would write the same files`, d.path, "a folder of its own in the training-data claim"));
            }
        });
    });
}
