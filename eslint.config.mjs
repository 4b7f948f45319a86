// ESLint 9 flat config: typescript-eslint (type-aware) plus Pulumi's rules against Outputs in template strings.
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
    { ignores: ["node_modules/**", "out/**", "bin/**", "examples/**/node_modules/**", "examples/**/bin/**", "**/*.js", "**/*.mjs", "reports/**", ".stryker-tmp/**"] },
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-non-null-assertion": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
        },
    },
    {
        // Tests read JSON artefacts and poke at mutated config; `any` keeps those fixtures short.
        files: ["test/**/*.ts", "examples/*/test/**/*.ts", "conformance/test/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
);
