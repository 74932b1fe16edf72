import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { answer, api } from "../api/client";
import { queryKeys } from "../api/keys";
import type { PocPublic, RunPublic } from "../api/types";
import { ConfirmButton } from "../accounts/ConfirmButton";
import { usePermissions } from "../auth/permissions";
import { MethodBadge } from "../components/MethodBadge";
import { ErrorNotice } from "../components/QueryState";
import { StateBadge } from "../components/StateBadge";
import { Term } from "../glossary/Term";
import { formatMegabytes, formatNumber, formatPercent } from "../i18n/format";
import { useMethods } from "../methods/useMethods";
import { DownloadsPanel } from "./DownloadsPanel";
import { runReason } from "./reasons";
import { finalAccuracy, taskTypeOf } from "./shaping";
import { RunTimingNote } from "./Timing";
import { mergeRun } from "./useLiveEvents";

/** Every run of the PoC (retries included) with its state, progress and the cancel/retry actions. */
export function RunsTable({ poc }: { poc: PocPublic }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const can = usePermissions();
  const methods = useMethods();
  const queryClient = useQueryClient();
  const putRun = (run: RunPublic) => {
    queryClient.setQueryData<PocPublic>(queryKeys.poc(poc.id), (old) => (old ? mergeRun(old, run) : old));
    void queryClient.invalidateQueries({ queryKey: queryKeys.poc(poc.id) });
  };
  const cancel = useMutation({
    mutationFn: (runId: string) =>
      answer(api.POST("/api/runs/{run_id}/cancel", { params: { path: { run_id: runId } } })),
    onSuccess: putRun,
  });
  const retry = useMutation({
    mutationFn: (runId: string) =>
      answer(api.POST("/api/runs/{run_id}/retry", { params: { path: { run_id: runId } } })),
    onSuccess: putRun,
  });
  const runs = methods.sortBy(
    [...poc.runs].sort((a, b) => a.created_at.localeCompare(b.created_at)),
    (run) => run.method,
  );
  const newestOf = new Map(runs.map((r) => [r.method, r.id]));
  const attemptsOf = new Map<string, number>();
  for (const run of runs) attemptsOf.set(run.method, (attemptsOf.get(run.method) ?? 0) + 1);

  return (
    <section aria-labelledby="runs-title" className="panel">
      <h2 id="runs-title">{t("compare.runs")}</h2>
      {(cancel.error || retry.error) && <ErrorNotice error={cancel.error ?? retry.error} />}
      <table className="runs-table">
        <thead>
          <tr>
            <th scope="col">{t("compare.method")}</th>
            <th scope="col">{t("compare.state")}</th>
            <th scope="col">{t("compare.progress")}</th>
            <th scope="col" className="num">
              {t("compare.step")}
            </th>
            <th scope="col" className="num">
              {t("compare.peakMemory")}
            </th>
            <th scope="col" className="num">
              {t(taskTypeOf(poc) === "generation" ? "compare.generation.accuracy" : "compare.accuracy")}
            </th>
            <th scope="col">{t("compare.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => {
            const methodName = methods.label(run.method);
            const live = run.state === "queued" || run.state === "running";
            // Asked to cancel, still running until its worker ends it (the current step finishes first).
            const stopping = run.state === "running" && run.cancel_requested;
            const retryable = !live && newestOf.get(run.method) === run.id;
            return (
              <tr
                key={run.id}
                data-run-id={run.id}
                data-method={run.method}
                data-state={run.state}
                data-attempt={run.attempt}
              >
                <th scope="row">
                  <MethodBadge method={run.method} />
                  {methods.isZerothOrder(run.method) && (
                    <>
                      {" "}
                      <Term term="zo" />
                    </>
                  )}
                  {(attemptsOf.get(run.method) ?? 0) > 1 && (
                    <div className="muted small attempt">{t("compare.attempt", { n: run.attempt })}</div>
                  )}
                  {(run.resumes ?? 0) > 0 && (
                    <span className="badge resumed" title={t("runDownloads.resumedHelp")} data-resumes={run.resumes}>
                      {t("runDownloads.resumed", { n: run.resumes })}
                    </span>
                  )}
                </th>
                <td>
                  {stopping ? (
                    <StateBadge state="stopping" title={t("compare.stoppingHelp")} />
                  ) : (
                    <StateBadge state={run.state} />
                  )}
                  {run.error && (
                    <p className="run-error">
                      {run.error_code && i18n.exists(`runDownloads.runErrors.${run.error_code}`)
                        ? t(`runDownloads.runErrors.${run.error_code}` as "runDownloads.runErrors.run_resume_limit", {
                            ...run.error_params,
                            cause: t(
                              `runDownloads.causes.${String(run.error_params?.cause)}` as "runDownloads.causes.killed",
                            ),
                          })
                        : t("compare.runError", { error: runReason(run, t, i18n) })}
                    </p>
                  )}
                </td>
                <td>
                  <progress max={1} value={run.progress ?? 0} aria-label={`${methodName} ${t("compare.progress")}`} />{" "}
                  <span className="progress-text">{formatPercent(lang, run.progress ?? 0, 0)}</span>
                  <RunTimingNote run={run} timing={poc.timing?.runs[run.id]} />
                </td>
                <td className="num">{formatNumber(lang, run.step, 0)}</td>
                <td className="num">
                  {formatMegabytes(lang, run.peak_memory_mb)}
                  {run.memory_kind && run.peak_memory_mb != null && (
                    <small className="memory-kind" data-kind={run.memory_kind}>
                      {t(`compare.memoryKind.${run.memory_kind}`)}
                    </small>
                  )}
                </td>
                <td className="num">{formatPercent(lang, finalAccuracy(run))}</td>
                <td>
                  {live &&
                    can.edit &&
                    (stopping ? (
                      <button type="button" className="danger" disabled>
                        {t("state.stopping")}
                      </button>
                    ) : (
                      <ConfirmButton
                        label={t("compare.cancel")}
                        accessibleLabel={t("compare.cancelRun", { method: methodName })}
                        question={t("compare.cancelConfirm", { method: methodName })}
                        confirmLabel={t("compare.cancelYes")}
                        cancelLabel={t("compare.keepRunning")}
                        disabled={cancel.isPending && cancel.variables === run.id}
                        onConfirm={() => cancel.mutate(run.id)}
                      />
                    ))}
                  {retryable && can.edit && (
                    <button
                      type="button"
                      aria-label={t("compare.retryRun", { method: methodName })}
                      disabled={retry.isPending && retry.variables === run.id}
                      onClick={() => retry.mutate(run.id)}
                    >
                      {t("compare.retry")}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <DownloadsPanel
        runs={runs}
        onChange={() => void queryClient.invalidateQueries({ queryKey: queryKeys.poc(poc.id) })}
      />
    </section>
  );
}
