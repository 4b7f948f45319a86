import assert from "node:assert/strict";
import {
    CUDA_CONTEXT_BYTES,
    FRAGMENTATION_FRACTION,
    ModelArchitecture,
    WorkloadShape,
    chooseGpuPlacement,
    estimateGpuMemory,
    formatBytes,
    perGpuBytesFor,
} from "../capacity/gpu-memory";

const GIB = 2 ** 30;
const MIB = 2 ** 20;

const llama2_7b: ModelArchitecture = { parameters: 6_738_415_616, layers: 32, hiddenSize: 4096, attentionHeads: 32 };
const sevenB: ModelArchitecture = { parameters: 7e9, layers: 32, hiddenSize: 4096, attentionHeads: 32 };
const seventyB: ModelArchitecture = { parameters: 70e9, layers: 80, hiddenSize: 8192, attentionHeads: 64, kvHeads: 8 };
const small: ModelArchitecture = { parameters: 1e9, layers: 2, hiddenSize: 1024, attentionHeads: 16 };

function inference(precision: "float32" | "bfloat16" | "float16" | "int8" | "int4", sequenceLength: number, batchSize = 1): WorkloadShape {
    return { mode: "inference", precision, batchSize, sequenceLength };
}

function training(overrides: Partial<Extract<WorkloadShape, { mode: "training" }>> = {}): WorkloadShape {
    return {
        mode: "training",
        precision: "bfloat16",
        optimizer: "adam",
        zeroStage: 0,
        dataParallel: 1,
        microBatchSize: 1,
        sequenceLength: 512,
        recompute: "full",
        ...overrides,
    };
}

/** Float sums in a different order may differ in the last bits; a byte is the resolution that matters. */
function assertBytes(actual: number, expected: number): void {
    assert.ok(Math.abs(actual - expected) < 1, `${actual} != ${expected}`);
}

function modelStates(e: { weightsBytes: number; gradientsBytes: number; optimizerBytes: number }): number {
    return e.weightsBytes + e.gradientsBytes + e.optimizerBytes;
}

describe("estimateGpuMemory", () => {
    describe("weights", () => {
        const expected: [Parameters<typeof inference>[0], number][] = [
            ["float32", 28e9],
            ["bfloat16", 14e9],
            ["float16", 14e9],
            ["int8", 7e9],
            ["int4", 3.5e9],
        ];
        for (const [precision, bytes] of expected) {
            it(`sizes ${precision} weights at ${bytes / 7e9} bytes per parameter`, () => {
                assert.equal(estimateGpuMemory(sevenB, inference(precision, 1)).weightsBytes, bytes);
            });
        }
    });

    describe("KV cache", () => {
        it("matches Llama-2-7B's public 524,288 bytes per token in fp16", () => {
            assert.equal(estimateGpuMemory(llama2_7b, inference("float16", 1)).kvCacheBytes, 524_288);
        });

        it("is exactly 2 GiB for a 4,096-token context at batch 1", () => {
            assert.equal(estimateGpuMemory(llama2_7b, inference("float16", 4096)).kvCacheBytes, 2 * GIB);
        });

        it("scales with batch size", () => {
            assert.equal(estimateGpuMemory(llama2_7b, inference("bfloat16", 4096, 4)).kvCacheBytes, 8 * GIB);
        });

        it("stays fp16 under int8 and int4 weight quantisation", () => {
            assert.equal(estimateGpuMemory(llama2_7b, inference("int8", 4096)).kvCacheBytes, 2 * GIB);
            assert.equal(estimateGpuMemory(llama2_7b, inference("int4", 4096)).kvCacheBytes, 2 * GIB);
        });

        it("doubles for float32", () => {
            assert.equal(estimateGpuMemory(llama2_7b, inference("float32", 4096)).kvCacheBytes, 4 * GIB);
        });

        it("uses kvHeads, not attention heads, for grouped-query attention", () => {
            // Llama-2-70B: 80 layers, 8 KV heads of dim 128 -> 2*80*8*128*2 = 327,680 bytes per token.
            assert.equal(estimateGpuMemory(seventyB, inference("bfloat16", 1)).kvCacheBytes, 327_680);
        });

        it("uses an explicit headDim", () => {
            const model = { ...small, headDim: 128, kvHeads: 4 };
            assert.equal(estimateGpuMemory(model, inference("bfloat16", 10)).kvCacheBytes, 2 * 2 * 4 * 128 * 10 * 2);
        });

        it("is zero for training", () => {
            assert.equal(estimateGpuMemory(small, training()).kvCacheBytes, 0);
        });
    });

    describe("inference", () => {
        it("has no gradients or optimizer states", () => {
            const e = estimateGpuMemory(sevenB, inference("bfloat16", 2048));
            assert.equal(e.gradientsBytes, 0);
            assert.equal(e.optimizerBytes, 0);
        });

        it("counts one layer's activations for the batch (34·s·b·h)", () => {
            assert.equal(estimateGpuMemory(sevenB, inference("bfloat16", 2048)).activationsBytes, 285_212_672);
            assert.equal(estimateGpuMemory(sevenB, inference("int4", 2048, 2)).activationsBytes, 570_425_344);
            assert.equal(estimateGpuMemory(sevenB, inference("float32", 2048)).activationsBytes, 570_425_344);
        });
    });

    describe("training model states (ZeRO paper)", () => {
        const p = 7.5e9;
        const model: ModelArchitecture = { ...small, parameters: p };

        it("is 16 bytes/param, 120 GB for 7.5B, without ZeRO", () => {
            const e = estimateGpuMemory(model, training({ dataParallel: 64 }));
            assert.equal(e.weightsBytes, 15e9);
            assert.equal(e.gradientsBytes, 15e9);
            assert.equal(e.optimizerBytes, 90e9);
            assert.equal(modelStates(e), 120e9);
        });

        it("stage 1 is 4P + 12P/Nd", () => {
            const e = estimateGpuMemory(model, training({ zeroStage: 1, dataParallel: 8 }));
            assert.equal(modelStates(e), 4 * p + (12 * p) / 8);
            assert.equal(modelStates(e), 41.25e9);
        });

        it("stage 2 is 2P + 14P/Nd", () => {
            const e = estimateGpuMemory(model, training({ zeroStage: 2, dataParallel: 8 }));
            assert.equal(modelStates(e), 2 * p + (14 * p) / 8);
            assert.equal(modelStates(e), 28.125e9);
        });

        it("stage 3 over Nd = 64 is 1.875 GB", () => {
            const e = estimateGpuMemory(model, training({ zeroStage: 3, dataParallel: 64 }));
            assert.equal(modelStates(e), 1.875e9);
        });

        it("float16 matches bfloat16", () => {
            const bf = estimateGpuMemory(model, training({ zeroStage: 2, dataParallel: 4 }));
            const fp = estimateGpuMemory(model, training({ precision: "float16", zeroStage: 2, dataParallel: 4 }));
            assert.deepEqual(fp, bf);
        });

        it("float32 Adam is 4P weights, 4P gradients, 8P optimizer, sharded the same way", () => {
            const plain = estimateGpuMemory(model, training({ precision: "float32" }));
            assert.equal(plain.weightsBytes, 30e9);
            assert.equal(plain.gradientsBytes, 30e9);
            assert.equal(plain.optimizerBytes, 60e9);
            const stage3 = estimateGpuMemory(model, training({ precision: "float32", zeroStage: 3, dataParallel: 4 }));
            assert.equal(stage3.weightsBytes, 7.5e9);
            assert.equal(stage3.gradientsBytes, 7.5e9);
            assert.equal(stage3.optimizerBytes, 15e9);
        });
    });

    describe("training activations (Korthikanti et al.)", () => {
        // small: 2 layers, h = 1024, a = 16; s = 512, b = 2.
        const shape = { sequenceLength: 512, microBatchSize: 2 } as const;

        it("no recompute: s·b·h·(34 + 5·a·s/h) per layer", () => {
            // 512·2·1024·(34 + 5·16·512/1024) = 1,048,576 · 74 = 77,594,624 per layer
            const e = estimateGpuMemory(small, training({ ...shape, recompute: "none" }));
            assert.equal(e.activationsBytes, 155_189_248);
        });

        it("selective recompute: 34·s·b·h per layer", () => {
            // 34 · 1,048,576 = 35,651,584 per layer
            const e = estimateGpuMemory(small, training({ ...shape, recompute: "selective" }));
            assert.equal(e.activationsBytes, 71_303_168);
        });

        it("full recompute: 2·s·b·h per layer", () => {
            const e = estimateGpuMemory(small, training({ ...shape, recompute: "full" }));
            assert.equal(e.activationsBytes, 4_194_304);
        });

        it("doubles for float32", () => {
            const e = estimateGpuMemory(small, training({ ...shape, precision: "float32", recompute: "selective" }));
            assert.equal(e.activationsBytes, 142_606_336);
        });

        it("does not shrink with data parallelism", () => {
            const one = estimateGpuMemory(small, training({ ...shape, zeroStage: 3, dataParallel: 1 }));
            const many = estimateGpuMemory(small, training({ ...shape, zeroStage: 3, dataParallel: 16 }));
            assert.equal(many.activationsBytes, one.activationsBytes);
        });
    });

    describe("overhead and total", () => {
        const cases: [string, ModelArchitecture, WorkloadShape][] = [
            ["inference", sevenB, inference("bfloat16", 2048)],
            ["training", small, training({ zeroStage: 2, dataParallel: 4, recompute: "none" })],
        ];
        for (const [name, model, workload] of cases) {
            it(`${name}: overhead is the CUDA context plus the fragmentation fraction of the rest, total the sum`, () => {
                const e = estimateGpuMemory(model, workload);
                const rest = e.weightsBytes + e.gradientsBytes + e.optimizerBytes + e.kvCacheBytes + e.activationsBytes;
                assert.equal(e.overheadBytes, CUDA_CONTEXT_BYTES + FRAGMENTATION_FRACTION * rest);
                assert.equal(e.totalBytes, rest + e.overheadBytes);
            });
        }

        it("states a 512 MiB context and 10% fragmentation", () => {
            assert.equal(CUDA_CONTEXT_BYTES, 512 * MIB);
            assert.equal(FRAGMENTATION_FRACTION, 0.1);
        });

        it("keeps 7B bf16 inference at 2,048 tokens under one A10G's 22,888 MiB", () => {
            const e = estimateGpuMemory(sevenB, inference("bfloat16", 2048));
            assert.ok(e.totalBytes < 22_888 * MIB, formatBytes(e.totalBytes));
        });
    });

    describe("validation", () => {
        const bad: [string, () => unknown, RegExp][] = [
            ["zero layers", () => estimateGpuMemory({ ...small, layers: 0 }, training()), /model\.layers/],
            ["fractional parameters", () => estimateGpuMemory({ ...small, parameters: 1.5 }, training()), /model\.parameters/],
            ["negative hidden size", () => estimateGpuMemory({ ...small, hiddenSize: -1 }, training()), /model\.hiddenSize/],
            ["NaN heads", () => estimateGpuMemory({ ...small, attentionHeads: NaN }, training()), /model\.attentionHeads/],
            ["kvHeads not dividing heads", () => estimateGpuMemory({ ...small, kvHeads: 3 }, training()), /model\.kvHeads/],
            ["kvHeads above heads", () => estimateGpuMemory({ ...small, kvHeads: 32 }, training()), /model\.kvHeads/],
            ["zero headDim", () => estimateGpuMemory({ ...small, headDim: 0 }, training()), /model\.headDim/],
            [
                "headDim underivable",
                () => estimateGpuMemory({ ...small, hiddenSize: 1000, attentionHeads: 3 }, training()),
                /model\.headDim/,
            ],
            ["zero batch", () => estimateGpuMemory(small, inference("bfloat16", 16, 0)), /workload\.batchSize/],
            ["fractional sequence", () => estimateGpuMemory(small, inference("bfloat16", 1.5)), /workload\.sequenceLength/],
            ["zero dataParallel", () => estimateGpuMemory(small, training({ dataParallel: 0 })), /workload\.dataParallel/],
            ["zero microBatchSize", () => estimateGpuMemory(small, training({ microBatchSize: 0 })), /workload\.microBatchSize/],
            [
                "int8 training",
                () => estimateGpuMemory(small, { ...training(), precision: "int8" } as unknown as WorkloadShape),
                /workload\.precision/,
            ],
            [
                "unknown inference precision",
                () => estimateGpuMemory(small, inference("fp8" as "int8", 16)),
                /workload\.precision/,
            ],
            [
                "ZeRO stage 4",
                () => estimateGpuMemory(small, training({ zeroStage: 4 as 3 })),
                /workload\.zeroStage/,
            ],
            [
                "unknown recompute",
                () => estimateGpuMemory(small, training({ recompute: "partial" as "full" })),
                /workload\.recompute/,
            ],
            [
                "unknown optimizer",
                () => estimateGpuMemory(small, training({ optimizer: "sgd" as "adam" })),
                /workload\.optimizer/,
            ],
            [
                "unknown mode",
                () => estimateGpuMemory(small, { ...training(), mode: "serving" } as unknown as WorkloadShape),
                /workload\.mode/,
            ],
        ];
        for (const [name, call, field] of bad) {
            it(`throws naming the field for ${name}`, () => {
                assert.throws(call, field);
            });
        }
    });
});

describe("perGpuBytesFor", () => {
    it("splits inference weights and KV across tensor-parallel GPUs but not activations", () => {
        const single = estimateGpuMemory(sevenB, inference("bfloat16", 2048));
        const rest = single.weightsBytes / 2 + single.kvCacheBytes / 2 + single.activationsBytes;
        assertBytes(perGpuBytesFor(sevenB, inference("bfloat16", 2048))(2), rest * 1.1 + CUDA_CONTEXT_BYTES);
    });

    it("matches estimateGpuMemory on one GPU", () => {
        const workload = inference("int8", 4096, 2);
        assert.equal(perGpuBytesFor(sevenB, workload)(1), estimateGpuMemory(sevenB, workload).totalBytes);
    });

    it("replicates KV heads when GPUs outnumber them", () => {
        // 2 KV heads over 4 GPUs: each GPU still holds one head, i.e. half the cache.
        const model = { ...small, kvHeads: 2 };
        const workload = inference("bfloat16", 1024);
        const single = estimateGpuMemory(model, workload);
        const rest = single.weightsBytes / 4 + single.kvCacheBytes / 2 + single.activationsBytes;
        assertBytes(perGpuBytesFor(model, workload)(4), rest * 1.1 + CUDA_CONTEXT_BYTES);
    });

    it("rejects tensor-parallel sizes that do not divide the attention heads", () => {
        const model = { ...small, attentionHeads: 12, hiddenSize: 768 };
        assert.equal(perGpuBytesFor(model, inference("bfloat16", 16))(8), Infinity);
    });

    it("uses the GPU count as the data-parallel size for training", () => {
        const workload = training({ zeroStage: 3, dataParallel: 1 });
        const atFour = estimateGpuMemory(small, training({ zeroStage: 3, dataParallel: 4 })).totalBytes;
        assert.equal(perGpuBytesFor(small, workload)(4), atFour);
    });

    it("validates eagerly and rejects a bad GPU count", () => {
        assert.throws(() => perGpuBytesFor({ ...small, layers: 0 }, training()), /model\.layers/);
        assert.throws(() => perGpuBytesFor(small, training())(0), /gpus/);
    });
});

describe("chooseGpuPlacement", () => {
    const pools = [
        { name: "a10g", instanceType: "g5.12xlarge" },
        { name: "a100", instanceType: "p4d.24xlarge" },
    ];

    it("puts 7B bf16 inference at 2,048 tokens on one A10G", () => {
        const placement = chooseGpuPlacement(perGpuBytesFor(sevenB, inference("bfloat16", 2048)), pools);
        assert.deepEqual(placement, {
            pool: "a10g",
            instanceType: "g5.12xlarge",
            gpus: 1,
            usableBytesPerGpu: 22_888 * MIB,
            hourlyUsd: 5.672 / 4,
        });
    });

    it("moves 70B bf16 inference to the A100 pool, at the smallest GPU count that fits", () => {
        // 140 GB of weights: 35 GB per A10G even over 4 GPUs (> 22,888 MiB); 4 x 40 GiB A100 fit.
        const placement = chooseGpuPlacement(perGpuBytesFor(seventyB, inference("bfloat16", 2048)), pools);
        assert.equal(placement?.pool, "a100");
        assert.equal(placement?.gpus, 4);
        assert.equal(placement?.usableBytesPerGpu, 40_960 * MIB);
        assert.equal(placement?.hourlyUsd, 21.957642 / 2);
    });

    it("uses all 8 A100s when 4 are not enough", () => {
        const placement = chooseGpuPlacement(perGpuBytesFor(seventyB, inference("float32", 2048)), pools);
        assert.equal(placement?.pool, "a100");
        assert.equal(placement?.gpus, 8);
    });

    it("returns undefined when nothing fits", () => {
        const huge: ModelArchitecture = { parameters: 405e9, layers: 126, hiddenSize: 16384, attentionHeads: 128, kvHeads: 8 };
        assert.equal(chooseGpuPlacement(perGpuBytesFor(huge, inference("bfloat16", 2048)), pools), undefined);
        assert.equal(chooseGpuPlacement(() => 1, []), undefined);
    });

    it("skips pools without GPUs", () => {
        const cpuOnly = [{ name: "general", instanceType: "m6i.xlarge" }];
        assert.equal(chooseGpuPlacement(() => 1, cpuOnly), undefined);
        assert.equal(chooseGpuPlacement(() => 1, [...cpuOnly, pools[0]])?.pool, "a10g");
    });

    it("respects maxGpus", () => {
        const perGpu = perGpuBytesFor(seventyB, inference("float32", 2048));
        assert.equal(chooseGpuPlacement(perGpu, pools, { maxGpus: 4 }), undefined);
        assert.throws(() => chooseGpuPlacement(perGpu, pools, { maxGpus: 0 }), /maxGpus/);
    });

    it("ranks by the cost of the GPUs used, not the node price", () => {
        // One GPU of a g5.12xlarge (5.672/4 = 1.418/h) loses to a whole g5.xlarge (1.006/h) but beats a g5.16xlarge (4.096/h).
        const byCost = chooseGpuPlacement(() => GIB, [
            { name: "quad", instanceType: "g5.12xlarge" },
            { name: "single", instanceType: "g5.xlarge" },
        ]);
        assert.equal(byCost?.pool, "single");
        const prorated = chooseGpuPlacement(() => GIB, [
            { name: "big", instanceType: "g5.16xlarge" },
            { name: "quad", instanceType: "g5.12xlarge" },
        ]);
        assert.equal(prorated?.pool, "quad");
    });

    it("weighs the GPU count against the per-GPU price", () => {
        // 30 GiB on 1 GPU fits an A100 only; over 2 GPUs 15 GiB fits an A10G or L4.
        const perGpu = (gpus: number): number => (30 * GIB) / gpus;
        // One A100 (21.957642/8 = 2.745/h) beats two A10Gs (5.672/2 = 2.836/h).
        const a100 = chooseGpuPlacement(perGpu, pools);
        assert.equal(a100?.pool, "a100");
        assert.equal(a100?.gpus, 1);
        // Two L4s (4.6016/2 = 2.3008/h) beat one A100.
        const l4 = chooseGpuPlacement(perGpu, [...pools, { name: "l4", instanceType: "g6.12xlarge" }]);
        assert.equal(l4?.pool, "l4");
        assert.equal(l4?.gpus, 2);
    });

    it("breaks cost ties by pool name", () => {
        // The catalog has no two GPU counts at one price, so only the name rule is reachable with real rows.
        const same = [
            { name: "b", instanceType: "g5.12xlarge" },
            { name: "a", instanceType: "g5.12xlarge" },
        ];
        assert.equal(chooseGpuPlacement(() => GIB, same)?.pool, "a");
    });

    it("throws for an instance type not in the catalog", () => {
        assert.throws(() => chooseGpuPlacement(() => 1, [{ name: "x", instanceType: "g9.huge" }]), /unknown instance type/);
    });
});

describe("formatBytes", () => {
    it("prints GiB with one decimal", () => {
        assert.equal(formatBytes(13.5 * GIB), "13.5 GiB");
        assert.equal(formatBytes(2 * GIB), "2.0 GiB");
        assert.equal(formatBytes(0), "0.0 GiB");
    });
});
