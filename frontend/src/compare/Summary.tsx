import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { roiQuery } from "../api/queries";
import type { RunPublic, TaskType } from "../api/types";
import { MethodBadge } from "../components/MethodBadge";
import { currentLanguage } from "../i18n";
import { formatMegabytes, formatNumber, formatPercent } from "../i18n/format";
import { useMethods } from "../methods/useMethods";
import {
  accuracyGapPoints,
  chartRuns,
  finalAccuracy,
  memoryRatio,
  pairingOf,
  sameMemoryKind,
  startAccuracy,
  TERMINAL_STATES,
} from "./shaping";

/**
 * The two sentences a manager takes away: how much memory the zeroth-order method saves against its
 * backpropagation baseline (LOZO and AdamW in the usual PoC; the kinds come from the registry) and what it
 * costs in accuracy. Once every run has finished, the accuracy sentence is the server's headline (the ROI
 * answer's, worded by McNemar's test: the same sentence the shared report leads with), never a bare gap.
 * A generation PoC's headline score is exact match, and the sentences say so.
 */
export function Summary({ runs, taskType = "classification" }: { runs: RunPublic[]; taskType?: TaskType }) {
  const { t, i18n } = useTranslation();
  // The wording of the headline score: accuracy, or a generation PoC's exact match.
  const scoreKey = (key: string) => (taskType === "generation" ? `compare.generation.${key}` : `compare.${key}`);
  const lang = i18n.language;
  const methods = useMethods();
  const shown = chartRuns(runs, methods);
  const pairing = pairingOf(runs, methods);
  const ratio = memoryRatio(runs, pairing, methods);
  const gap = accuracyGapPoints(runs, pairing, methods);
  const runOf = (method: string) => shown.find((r) => r.method === method);
  const peak = (method: string) => runOf(method)?.peak_memory_mb;
  const kindOf = (method: string) => {
    const kind = runOf(method)?.memory_kind;
    return kind ? t(`compare.memoryKind.${kind}`) : "";
  };
  const mixedKinds = pairing != null && !sameMemoryKind(runOf(pairing.baseline), runOf(pairing.method));
  const pocId = runs[0]?.poc_id;
  const finished = runs.length > 0 && runs.every((r) => TERMINAL_STATES.has(r.state));
  const roi = useQuery({ ...roiQuery(pocId ?? "", "poc", currentLanguage()), enabled: finished && pocId != null });
  const headline = finished ? roi.data?.headline : undefined;
  const names = pairing
    ? { method: methods.label(pairing.method), baseline: methods.label(pairing.baseline) }
    : { method: "", baseline: "" };

  let gapText: string;
  if (headline && headline.code !== "incomplete")
    gapText = currentLanguage() === "ja" ? headline.accuracy.ja : headline.accuracy.en;
  else if (!pairing) gapText = t(scoreKey("gapNoPair"));
  else if (gap == null) gapText = t(scoreKey("gapPending"), names);
  else if (Math.abs(gap) < 0.05) gapText = t(scoreKey("gapEqual"), names);
  else {
    const key = scoreKey(gap > 0 ? "gapAbove" : "gapBelow");
    gapText = t(key, { ...names, gap: formatNumber(lang, Math.abs(gap), 1) });
  }

  return (
    <section className="summary" aria-label={t(scoreKey("finalAccuracy"))}>
      <div className="summary-card" data-testid="memory-ratio">
        {!pairing ? (
          <p className="summary-pending">{t("compare.ratioNoPair")}</p>
        ) : mixedKinds ? (
          <p className="summary-pending">
            {t("compare.ratioMixedKinds", {
              ...names,
              baselineKind: kindOf(pairing.baseline),
              methodKind: kindOf(pairing.method),
            })}
          </p>
        ) : ratio == null ? (
          <p className="summary-pending">{t("compare.ratioPending", names)}</p>
        ) : (
          <>
            <p className="summary-headline">{t("compare.ratio", { ...names, ratio: formatNumber(lang, ratio, 1) })}</p>
            <p className="summary-detail">
              {t("compare.ratioDetail", {
                baselineMemory: formatMegabytes(lang, peak(pairing.baseline)),
                methodMemory: formatMegabytes(lang, peak(pairing.method)),
                kind: kindOf(pairing.method),
              })}
            </p>
          </>
        )}
      </div>
      <div className="summary-card" data-testid="accuracy-summary">
        <h2 className="summary-title">{t(scoreKey("finalAccuracy"))}</h2>
        <ul className="accuracy-list">
          {shown.map((run) => {
            const start = startAccuracy(run);
            return (
              <li key={run.id}>
                <MethodBadge method={run.method} /> <strong>{formatPercent(lang, finalAccuracy(run))}</strong>
                {start != null && (
                  <span className="muted"> ({t("compare.accStart", { value: formatPercent(lang, start) })})</span>
                )}
              </li>
            );
          })}
        </ul>
        <p
          // bold only for the statistics' own sentence: an untested gap is never a headline
          className={headline && headline.code !== "incomplete" ? "summary-gap" : "summary-pending"}
          data-testid="accuracy-gap"
          data-code={headline?.code}
        >
          {gapText}
        </p>
      </div>
    </section>
  );
}
