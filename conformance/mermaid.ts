/**
 * Renders Mermaid diagrams the way a reader's browser does: the mermaid package from node_modules, loaded
 * into a page of Debian's headless Chromium (driven by playwright-core, which never downloads a browser
 * here), every network request refused. A diagram that does not parse or lay out comes back as a failure
 * with Mermaid's own message. Used by the test:cluster suite on report.md; needs /usr/bin/chromium.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Page } from "playwright-core";

export const CHROMIUM = process.env.ML_PLATFORM_CHROMIUM ?? "/usr/bin/chromium";

/** Flags that work on these machines: no sandbox (root, no user namespaces), no GPU, nothing phoning home. */
export const CHROMIUM_FLAGS: readonly string[] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

export interface MermaidBlock {
    /** 1-based line of the opening fence in the Markdown. */
    line: number;
    code: string;
}

/** Every ```mermaid fenced block of a Markdown text, with the line it starts on. */
export function mermaidBlocks(markdown: string): MermaidBlock[] {
    const lines = markdown.split("\n");
    const blocks: MermaidBlock[] = [];
    for (let i = 0; i < lines.length; i++) {
        if (lines[i].trim() !== "```mermaid") {
            continue;
        }
        const start = i;
        const body: string[] = [];
        for (i++; i < lines.length && lines[i].trim() !== "```"; i++) {
            body.push(lines[i]);
        }
        if (i >= lines.length) {
            throw new Error(`line ${start + 1}: a mermaid block that is never closed`);
        }
        blocks.push({ line: start + 1, code: body.join("\n") });
    }
    return blocks;
}

/**
 * Runs in the page, so it is plain JavaScript text: the TypeScript transpilers of the tests would
 * otherwise rewrite `?.` and `??` into helpers the page does not have.
 */
const IN_PAGE_RENDER = `async (id, code) => {
    const out = document.getElementById("out");
    try {
        const result = await window.mermaid.render(id, code);
        out.innerHTML = result.svg;
        const texts = Array.from(out.querySelectorAll("text")).map((t) => (t.textContent || "").trim());
        return { ok: true, svg: result.svg, texts };
    } catch (e) {
        const leftover = document.getElementById("d" + id);
        if (leftover) leftover.remove();
        return { ok: false, error: String((e && e.message) || e) };
    } finally {
        out.innerHTML = "";
    }
}`;

export type RenderResult = { ok: true; svg: string; texts: string[] } | { ok: false; error: string };

/** One headless Chromium with mermaid loaded; render() as often as needed, then close(). */
export class MermaidRenderer {
    private count = 0;

    private constructor(
        private readonly page: Page,
        private readonly profile: string,
    ) {}

    /** Starts Chromium; throws, saying how to install it, when it is not there (a test must fail, not skip). */
    static async start(executablePath: string = CHROMIUM): Promise<MermaidRenderer> {
        if (!existsSync(executablePath)) {
            throw new Error(`no Chromium at ${executablePath}: install Debian's package (apt-get install -y chromium; .ci/run does) or set ML_PLATFORM_CHROMIUM`);
        }
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { chromium } = require("playwright-core") as typeof import("playwright-core");
        const profile = mkdtempSync(path.join(tmpdir(), "ml-platform-chromium-"));
        // A persistent context is how a fresh --user-data-dir of our own is passed; it is deleted on close.
        const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, chromiumSandbox: false, args: [...CHROMIUM_FLAGS] });
        // Offline by construction: whatever the page or mermaid would fetch is refused.
        await context.route("**/*", (route) => route.abort());
        const page = context.pages()[0] ?? (await context.newPage());
        await page.setContent("<!doctype html><html><head><meta charset='utf-8'></head><body><div id='out'></div></body></html>");
        await page.addScriptTag({ path: require.resolve("mermaid/dist/mermaid.min.js") });
        await page.evaluate("window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' })");
        return new MermaidRenderer(page, profile);
    }

    /** The version of mermaid in the page, as it reports itself. */
    async mermaidVersion(): Promise<string> {
        return this.page.evaluate("String(window.mermaid.version || '')");
    }

    /** Parses and lays out one diagram; on success the SVG and the text of every <text> element in it. */
    async render(code: string): Promise<RenderResult> {
        const id = `diagram-${++this.count}`;
        return this.page.evaluate(`(${IN_PAGE_RENDER})(${JSON.stringify(id)}, ${JSON.stringify(code)})`);
    }

    async close(): Promise<void> {
        await this.page.context().close();
        rmSync(this.profile, { recursive: true, force: true });
    }
}

/** Renders every Mermaid block of a Markdown text; the failures, each with its line and Mermaid's message. */
export async function mermaidFailures(renderer: MermaidRenderer, markdown: string): Promise<string[]> {
    const failures: string[] = [];
    for (const block of mermaidBlocks(markdown)) {
        const result = await renderer.render(block.code);
        if (!result.ok) {
            failures.push(`line ${block.line}: ${result.error}`);
        }
    }
    return failures;
}
