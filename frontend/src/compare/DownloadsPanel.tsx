import { useMutation, useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { answer, api, apiUrl } from "../api/client";
import type { RunPublic } from "../api/types";
import { usePermissions } from "../auth/permissions";
import { MethodBadge } from "../components/MethodBadge";
import { ErrorNotice } from "../components/QueryState";
import { formatNumber } from "../i18n/format";
import { useMethods } from "../methods/useMethods";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/** Bytes as the reader's language writes them, in B, KB, MB or GB (powers of 1024). */
export function formatBytes(lang: string, bytes: number | null | undefined): string {
  if (bytes == null) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(lang, value, unit === 0 ? 0 : 1)} ${units[unit]}`;
}

const steplogKey = (runId: string, step: number) => ["runs", "steplog", runId, step] as const;

/** A zeroth-order run's step log: its size, a download link and the command that rebuilds the weights. */
function StepLog({ run }: { run: RunPublic }) {
  const { t, i18n } = useTranslation();
  const info = useQuery({
    queryKey: steplogKey(run.id, run.step),
    queryFn: () => answer(api.GET("/api/runs/{run_id}/steplog/info", { params: { path: { run_id: run.id } } })),
    retry: false,
  });
  if (!info.data) return <span className="muted small">{t("runDownloads.noLog")}</span>;
  const log = info.data;
  return (
    <div className="steplog" data-bytes={log.bytes}>
      <a href={apiUrl("/api/runs/{run_id}/steplog", { path: { run_id: run.id } })} download={log.filename}>
        {t("runDownloads.stepLog", {
          steps: formatNumber(i18n.language, log.steps, 0),
          size: formatBytes(i18n.language, log.bytes),
        })}
      </a>
      <div className="muted small">{t("runDownloads.rebuildWith")}</div>
      <code className="rebuild-command">{log.rebuild_command}</code>
    </div>
  );
}

/** The model folder of a finished run: prepare it (a worker rebuilds the weights), then download it. */
function ModelFolder({ run, onChange }: { run: RunPublic; onChange: () => void }) {
  const { t, i18n } = useTranslation();
  const can = usePermissions();
  const prepare = useMutation({
    mutationFn: () => answer(api.POST("/api/runs/{run_id}/export", { params: { path: { run_id: run.id } } })),
    onSuccess: onChange,
  });
  const state = run.export_state ?? null;
  return (
    <div className="model-folder" data-export-state={state ?? "none"}>
      {prepare.error && <ErrorNotice error={prepare.error} />}
      {state === "ready" ? (
        <a href={apiUrl("/api/runs/{run_id}/export/download", { path: { run_id: run.id } })}>
          {t("runDownloads.downloadFolder", { size: formatBytes(i18n.language, run.export_bytes) })}
        </a>
      ) : state === "queued" || state === "running" ? (
        <span className="muted">{t(`runDownloads.export.${state}`)}</span>
      ) : (
        can.edit && (
          <button type="button" disabled={prepare.isPending} onClick={() => prepare.mutate()}>
            {state === "failed" ? t("runDownloads.prepareAgain") : t("runDownloads.prepare")}
          </button>
        )
      )}
      {state === "failed" && <p className="run-error">{t("runDownloads.export.failed")}</p>}
    </div>
  );
}

/** What each run leaves to download: the ZO step log and, once finished, a model folder of its weights. */
export function DownloadsPanel({ runs, onChange }: { runs: RunPublic[]; onChange: () => void }) {
  const { t, i18n } = useTranslation();
  const methods = useMethods();
  const shown = runs.filter((run) => run.state !== "queued" || run.step > 0);
  if (shown.length === 0) return null;
  return (
    <div className="downloads" aria-labelledby="downloads-title">
      <h3 id="downloads-title">{t("runDownloads.title")}</h3>
      <table className="downloads-table">
        <thead>
          <tr>
            <th scope="col">{t("compare.method")}</th>
            <th scope="col">{t("runDownloads.stepLogColumn")}</th>
            <th scope="col">{t("runDownloads.checkpointColumn")}</th>
            <th scope="col">{t("runDownloads.folderColumn")}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((run) => {
            const zeroOrder = methods.isZerothOrder(run.method) === true;
            return (
              <tr key={run.id} data-download-run-id={run.id}>
                <th scope="row">
                  <MethodBadge method={run.method} />
                </th>
                <td>{zeroOrder ? <StepLog run={run} /> : <span className="muted small">—</span>}</td>
                <td className="num">
                  {run.checkpoint_bytes != null ? formatBytes(i18n.language, run.checkpoint_bytes) : "—"}
                </td>
                <td>
                  {/* Final weights: a ZO run's step log rebuilds them whatever its end; a gradient run keeps
                      them only when it succeeded. */}
                  {FINISHED.has(run.state) && (zeroOrder || run.state === "succeeded") ? (
                    <ModelFolder run={run} onChange={onChange} />
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
