import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { answer, api } from "../api/client";
import { queryKeys } from "../api/keys";
import { reportsQuery } from "../api/queries";
import type { ReportCreate, ReportListItem } from "../api/types";
import { ConfirmButton } from "../accounts/ConfirmButton";
import { ErrorNotice, Loading } from "../components/QueryState";
import { currentLanguage } from "../i18n";
import { formatDateTimeZone } from "../i18n/format";
import { forgetLinks, knownLinks, rememberLinks, type ShareLinks } from "./shareLinks";

const absolute = (path: string) => new URL(path, window.location.origin).toString();

/** The charts' PNG: from the answer that made the link, or (links remembered before it had one) beside the PDF. */
const pngUrl = (links: ShareLinks & { png_url?: unknown }) =>
  typeof links.png_url === "string" ? links.png_url : links.pdf_url.replace(/\.pdf$/, ".png");

/** The reader's time zone (the report shows its times in it); undefined lets the server say UTC. */
const browserTimeZone = () => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
};

/** Copy, HTML and PDF of one link; "copied" is said on the button that did it. */
function LinkActions({ links, prefix }: { links: ShareLinks; prefix: string | null }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  return (
    <div className="button-row">
      <button
        type="button"
        aria-label={prefix ? t("share.copyLabel", { prefix }) : undefined}
        onClick={() => void navigator.clipboard?.writeText(absolute(links.url)).then(() => setCopied(true))}
      >
        {copied ? t("share.copied") : t("share.copy")}
      </button>
      <a
        className="button"
        href={links.html_url}
        download
        aria-label={prefix ? t("share.htmlLabel", { prefix }) : undefined}
      >
        {t("share.html")}
      </a>
      <a
        className="button"
        href={links.pdf_url}
        download
        aria-label={prefix ? t("share.pdfLabel", { prefix }) : undefined}
      >
        {t("share.pdf")}
      </a>
      <a
        className="button"
        href={pngUrl(links)}
        download
        aria-label={prefix ? t("share.pngLabel", { prefix }) : undefined}
      >
        {t("share.png")}
      </a>
    </div>
  );
}

function ReportRow({
  report,
  revoking,
  onRevoke,
}: {
  report: ReportListItem;
  revoking: boolean;
  onRevoke: (id: string) => void;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const live = report.state === "live";
  const links = live ? knownLinks(report.id) : null;
  const prefix = report.token_prefix;
  return (
    <tr data-report-id={report.id} data-state={report.state}>
      <th scope="row">
        <span className="mono">{t("share.startsWith", { prefix })}</span>
        {links ? (
          <input
            readOnly
            className="share-url"
            aria-label={t("share.linkColumn")}
            value={absolute(links.url)}
            onFocus={(e) => e.currentTarget.select()}
          />
        ) : (
          live && <p className="muted small">{t("share.elsewhere")}</p>
        )}
      </th>
      <td>{t(`share.languages.${report.language}`)}</td>
      <td>{formatDateTimeZone(lang, report.created_at)}</td>
      <td>{report.expires_at ? formatDateTimeZone(lang, report.expires_at) : t("share.never")}</td>
      <td>
        <span className={`badge report-${report.state}`} data-state={report.state}>
          {t(`share.states.${report.state}`)}
        </span>
      </td>
      <td>
        {links && <LinkActions links={links} prefix={prefix} />}
        {live && (
          <ConfirmButton
            label={t("share.revoke")}
            accessibleLabel={t("share.revokeLabel", { prefix })}
            question={t("share.revokeConfirm")}
            confirmLabel={t("share.revokeYes")}
            cancelLabel={t("share.keep")}
            disabled={revoking}
            onConfirm={() => onRevoke(report.id)}
          />
        )}
      </td>
    </tr>
  );
}

/**
 * Freezes the comparison into a shareable report (link, HTML and PDF) in the current language, and lists
 * the PoC's report links with their language, dates and state, to copy again or revoke.
 */
export function SharePanel({ pocId }: { pocId: string }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const reports = useQuery(reportsQuery(pocId));
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.reports(pocId) });
  const create = useMutation({
    mutationFn: (body: ReportCreate) =>
      answer(api.POST("/api/pocs/{poc_id}/reports", { params: { path: { poc_id: pocId } }, body })),
    onSuccess: (links) => {
      rememberLinks(links.id, links);
      return refresh();
    },
  });
  const revoke = useMutation({
    // 204 without a body; a refusal arrives as ApiError from the client's middleware
    mutationFn: async (reportId: string) => {
      await api.DELETE("/api/pocs/{poc_id}/reports/{report_ref}", {
        params: { path: { poc_id: pocId, report_ref: reportId } },
      });
    },
    onSuccess: (_, reportId) => {
      forgetLinks([reportId]);
      return refresh();
    },
  });

  // Links that no longer work (revoked elsewhere, expired) are not kept in this browser.
  useEffect(() => {
    if (reports.data) forgetLinks(reports.data.data.filter((r) => r.state !== "live").map((r) => r.id));
  }, [reports.data]);

  const created = create.data;
  const createdStillLive = created && reports.data?.data.some((r) => r.id === created.id && r.state === "live");

  return (
    <section className="panel" aria-labelledby="share-title">
      <h2 id="share-title">{t("share.title")}</h2>
      <p className="muted">{t("share.language")}</p>
      <button
        type="button"
        className="primary"
        disabled={create.isPending}
        onClick={() =>
          create.mutate({ language: currentLanguage(), expires_in_days: 14, time_zone: browserTimeZone() })
        }
      >
        {create.isPending ? t("share.creating") : t("share.create")}
      </button>
      {create.isError && (
        <p role="alert" className="notice notice-error">
          {t("share.failed", { message: create.error.message })}
        </p>
      )}
      {created && createdStillLive !== false && (
        <div className="share-result" data-testid="share-result">
          <label className="field">
            <span>
              {created.expires_at
                ? t("share.link", { date: formatDateTimeZone(i18n.language, created.expires_at) })
                : t("share.linkNoExpiry")}
            </span>
            <input readOnly value={absolute(created.url)} onFocus={(e) => e.currentTarget.select()} />
          </label>
          <LinkActions links={created} prefix={null} />
        </div>
      )}

      <h3 id="share-list-title">{t("share.listTitle")}</h3>
      {revoke.isError && (
        <p role="alert" className="notice notice-error">
          {t("share.revokeFailed", { message: revoke.error.message })}
        </p>
      )}
      {reports.isPending ? (
        <Loading />
      ) : reports.isError ? (
        <ErrorNotice error={reports.error} onRetry={() => void reports.refetch()} />
      ) : reports.data.data.length === 0 ? (
        <p className="empty">{t("share.listEmpty")}</p>
      ) : (
        <div className="table-scroll">
          <table className="share-table" aria-labelledby="share-list-title" data-testid="share-links">
            <thead>
              <tr>
                <th scope="col">{t("share.linkColumn")}</th>
                <th scope="col">{t("share.reportLanguage")}</th>
                <th scope="col">{t("share.created")}</th>
                <th scope="col">{t("share.expires")}</th>
                <th scope="col">{t("share.state")}</th>
                <th scope="col">{t("share.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {reports.data.data.map((report) => (
                <ReportRow
                  key={report.id}
                  report={report}
                  revoking={revoke.isPending && revoke.variables === report.id}
                  onRevoke={(id) => revoke.mutate(id)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
