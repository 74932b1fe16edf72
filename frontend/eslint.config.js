// ESLint (flat config): typescript-eslint's type-aware recommended rules and the React hooks rules (with
// the React Compiler's checks) over the dashboard's sources; the scripts as plain Node modules. Every rule
// that is on is an error: `npm run lint` passes only when nothing is reported.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

const asErrors = (rules) =>
  Object.fromEntries(Object.entries(rules).map(([name, level]) => [name, level === "off" ? "off" : "error"]));

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "src/api/schema.gen.ts"] },
  js.configs.recommended,
  {
    files: ["src/**/*.{ts,tsx}", "vite.config.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...asErrors(reactHooks.configs.flat.recommended.rules),
      // `_name` marks a value left out on purpose (e.g. a key removed by destructuring).
      "@typescript-eslint/no-unused-vars": ["error", { varsIgnorePattern: "^_", argsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["scripts/**/*.mjs", "eslint.config.js"],
    languageOptions: { globals: globals.node },
  },
);
