/** How placeholders are told: by `npm run preflight` and in report.md's "Before the first deploy". */
import { Placeholder } from "../stacks/placeholders";
import { ReportSection, table } from "./report";

export function formatPlaceholder(p: Placeholder): string {
    return `${p.key} = ${p.value}: ${p.kind}; ${p.fix}`;
}

/** Always present, so a reviewer sees "none" as a finding too; it never changes the plan's verdict. */
export function firstDeploySection(placeholders: readonly Placeholder[]): ReportSection {
    if (placeholders.length === 0) {
        return { title: "Before the first deploy", body: "The stack file holds no placeholders (`npm run preflight` passes). The README's first-deploy checklist still applies." };
    }
    return {
        title: "Before the first deploy",
        body: [
            `The stack file holds ${placeholders.length} placeholder(s): the plan is valid with them, a real \`pulumi up\` is not. ` +
                "`npm run preflight` (which the deploy workflow runs before `pulumi up`) fails until each is replaced; see the README's first-deploy checklist.",
            "",
            table(
                ["key", "value", "what it is", "what to do"],
                placeholders.map((p) => [`\`${p.key}\``, `\`${p.value}\``, p.kind, p.fix]),
            ),
        ].join("\n"),
    };
}
