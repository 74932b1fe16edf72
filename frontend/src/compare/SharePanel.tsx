import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { answer, api } from "../api/client";
import type { ReportCreate } from "../api/types";
import { currentLanguage } from "../i18n";
import { formatDateTime } from "../i18n/format";

/** Freezes the comparison into a shareable report (link, HTML and PDF) in the current language. */
export function SharePanel({ pocId }: { pocId: string }) {
  const { t, i18n } = useTranslation();
  const [copied, setCopied] = useState(false);
  const create = useMutation({
    mutationFn: (body: ReportCreate) =>
      answer(api.POST("/api/pocs/{poc_id}/reports", { params: { path: { poc_id: pocId } }, body })),
  });
  const absolute = (path: string) => new URL(path, window.location.origin).toString();

  return (
    <section className="panel" aria-labelledby="share-title">
      <h2 id="share-title">{t("share.title")}</h2>
      <p className="muted">{t("share.language")}</p>
      <button
        type="button"
        className="primary"
        disabled={create.isPending}
        onClick={() => create.mutate({ language: currentLanguage(), expires_in_days: 14 })}
      >
        {create.isPending ? t("share.creating") : t("share.create")}
      </button>
      {create.isError && (
        <p role="alert" className="notice notice-error">
          {t("share.failed", { message: create.error.message })}
        </p>
      )}
      {create.data && (
        <div className="share-result" data-testid="share-result">
          <label className="field">
            <span>
              {create.data.expires_at
                ? t("share.link", { date: formatDateTime(i18n.language, create.data.expires_at) })
                : t("share.linkNoExpiry")}
            </span>
            <input readOnly value={absolute(create.data.url)} onFocus={(e) => e.currentTarget.select()} />
          </label>
          <div className="button-row">
            <button
              type="button"
              onClick={() => void navigator.clipboard?.writeText(absolute(create.data.url)).then(() => setCopied(true))}
            >
              {copied ? t("share.copied") : t("share.copy")}
            </button>
            <a className="button" href={create.data.html_url} download>
              {t("share.html")}
            </a>
            <a className="button" href={create.data.pdf_url} download>
              {t("share.pdf")}
            </a>
          </div>
        </div>
      )}
    </section>
  );
}
