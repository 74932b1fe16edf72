import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import type { TFunction, i18n } from "i18next";
import { ApiError } from "../api/client";

/**
 * The words of an API refusal in the reader's language: a refusal with a code the dashboard knows is
 * worded from `errorCodes` (filled with its params); any other keeps the server's English sentence.
 */
export function apiMessage(error: unknown, t: TFunction, i18n: i18n): string {
  if (error instanceof ApiError && error.code && i18n.exists(`errorCodes.${error.code}`)) {
    return t(`errorCodes.${error.code}` as "errorCodes.no_worker_for_device", error.params);
  }
  if (error instanceof ApiError && error.code && i18n.exists(`dash.errorCodes.${error.code}`)) {
    return t(`dash.errorCodes.${error.code}` as "dash.errorCodes.run_not_finished", error.params);
  }
  return error instanceof Error ? error.message : String(error);
}

/** Says in plain words what went wrong and offers the one thing to do about it. */
export function ErrorNotice({ error, onRetry, notFound }: { error: unknown; onRetry?: () => void; notFound?: string }) {
  const { t, i18n } = useTranslation();
  let text: string;
  if (error instanceof ApiError && error.status === 0) text = t("errors.network");
  else if (error instanceof ApiError && error.status === 404 && notFound) text = notFound;
  else if (error instanceof ApiError)
    text = t("errors.server", { status: error.status, message: apiMessage(error, t, i18n) });
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

/** A query's three states in one place: loading, an error with a retry, or its data; `empty` names what to
 * say instead when the data holds nothing. */
export function QueryView<T>({
  query,
  empty,
  children,
}: {
  query: UseQueryResult<T>;
  empty?: { when: (data: T) => boolean; text: ReactNode };
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading />;
  if (query.isError) return <ErrorNotice error={query.error} onRetry={() => void query.refetch()} />;
  if (empty && empty.when(query.data)) return <p className="empty">{empty.text}</p>;
  return <>{children(query.data)}</>;
}
