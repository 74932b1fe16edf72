import type { TFunction, i18n } from "i18next";
import type { RunPublic } from "../api/types";

/** Parameters of a reason that add a sentence of their own when the server gave them. */
const EXTRA_SENTENCES = ["peak_mb", "output"] as const;

/**
 * Why a run stopped, in the reader's language: a reason the server gave a code for is worded from
 * `dash.reasons` (filled with its params); any other text keeps the server's English sentence.
 */
export function runReason(run: Pick<RunPublic, "error" | "error_code" | "error_params">, t: TFunction, i18n: i18n) {
  if (!run.error) return null;
  const code = run.error_code;
  if (!code || !i18n.exists(`dash.reasons.${code}`)) return run.error;
  const params = run.error_params ?? {};
  const sentences = [t(`dash.reasons.${code}` as "dash.reasons.diverged", params)];
  for (const name of EXTRA_SENTENCES) {
    if (params[name] != null) sentences.push(t(`dash.reasons.${name === "peak_mb" ? "peak" : name}`, params));
  }
  return sentences.join(" ");
}
