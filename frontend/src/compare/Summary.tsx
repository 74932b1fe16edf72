import { useTranslation } from "react-i18next";
import type { RunPublic } from "../api/types";
import { MethodBadge } from "../components/MethodBadge";
import { formatMegabytes, formatNumber, formatPercent } from "../i18n/format";
import { accuracyGapPoints, chartRuns, finalAccuracy, memoryRatio, startAccuracy } from "./shaping";

/** The two sentences a manager takes away: how much memory LOZO saves and what it costs in accuracy. */
export function Summary({ runs }: { runs: RunPublic[] }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const shown = chartRuns(runs);
  const ratio = memoryRatio(runs);
  const gap = accuracyGapPoints(runs);
  const peak = (method: string) => shown.find((r) => r.method === method)?.peak_memory_mb;

  let gapText: string;
  if (gap == null) gapText = t("compare.gapPending");
  else if (Math.abs(gap) < 0.05) gapText = t("compare.gapEqual");
  else gapText = t(gap > 0 ? "compare.gapAbove" : "compare.gapBelow", { gap: formatNumber(lang, Math.abs(gap), 1) });

  return (
    <section className="summary" aria-label={t("compare.finalAccuracy")}>
      <div className="summary-card" data-testid="memory-ratio">
        {ratio == null ? (
          <p className="summary-pending">{t("compare.ratioPending")}</p>
        ) : (
          <>
            <p className="summary-headline">{t("compare.ratio", { ratio: formatNumber(lang, ratio, 1) })}</p>
            <p className="summary-detail">
              {t("compare.ratioDetail", {
                adamw: formatMegabytes(lang, peak("adamw")),
                lozo: formatMegabytes(lang, peak("lozo")),
              })}
            </p>
          </>
        )}
      </div>
      <div className="summary-card" data-testid="accuracy-summary">
        <h2 className="summary-title">{t("compare.finalAccuracy")}</h2>
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
        <p className={gap == null ? "summary-pending" : "summary-gap"} data-testid="accuracy-gap">
          {gapText}
        </p>
      </div>
    </section>
  );
}
