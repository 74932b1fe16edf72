import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";

/** Says in plain words what went wrong and offers the one thing to do about it. */
export function ErrorNotice({ error, onRetry, notFound }: { error: unknown; onRetry?: () => void; notFound?: string }) {
  const { t } = useTranslation();
  let text: string;
  if (error instanceof ApiError && error.status === 0) text = t("errors.network");
  else if (error instanceof ApiError && error.status === 404 && notFound) text = notFound;
  else if (error instanceof ApiError) text = t("errors.server", { status: error.status, message: error.message });
  else text = t("errors.unknown", { message: error instanceof Error ? error.message : String(error) });
  return (
    <div role="alert" className="notice notice-error">
      <p>{text}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t("common.retry")}
        </button>
      )}
    </div>
  );
}

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <p role="status" className="loading">
      {label ?? t("common.loading")}
    </p>
  );
}
