import type { TFunction, i18n } from "i18next";
import type { FieldProblem } from "../api/types";

/**
 * One problem of an uploaded file in the reader's language: a problem the server named with a code is
 * worded from `launch.problems` (filled with its params); any other keeps the server's English sentence.
 */
export function problemText(problem: FieldProblem, t: TFunction, i18n: i18n): string {
  const code = problem.code;
  if (!code || !i18n.exists(`launch.problems.${code}`)) return problem.problem;
  return t(`launch.problems.${code}` as "launch.problems.empty_prompt", problem.params ?? {});
}
