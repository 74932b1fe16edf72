import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";

interface ProblemNoticeProps {
  error: unknown;
  /** What a 409 from this action means, in the reader's words (the server's text is for developers). */
  conflict?: string;
  /** i18n key of "… failed: {{message}}" for any other answer. */
  failedKey: string;
}

/** The readable answer to a failed change: the known refusals in plain words, anything else with its reason. */
export function ProblemNotice({ error, conflict, failedKey }: ProblemNoticeProps) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <p role="alert" className="notice notice-error">
      {problemText(t, error, conflict, failedKey)}
    </p>
  );
}

type Translate = ReturnType<typeof useTranslation>["t"];

export function problemText(t: Translate, error: unknown, conflict: string | undefined, failedKey: string): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return t("errors.network");
    if (error.status === 409 && conflict) return conflict;
    if (error.status === 422 && error.problems.some((p) => p.field === "email")) return t("invites.badEmail");
  }
  return t(failedKey, { message: error instanceof Error ? error.message : String(error) });
}
