import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Term } from "../glossary/Term";
import { roiQuery } from "../api/queries";
import type { RoiTarget } from "../api/types";
import { MethodBadge } from "../components/MethodBadge";
import { ErrorNotice, Loading } from "../components/QueryState";
import { currentLanguage } from "../i18n";
import { formatCurrency, formatMegabytes, formatNumber, formatPercent } from "../i18n/format";

// Every target the API offers, in the order shown (a Record, so a target added to the schema fails the type
// check until it is listed here).
const TARGET_ORDER: Record<RoiTarget, number> = { poc: 0, "1b": 1, "7b": 2, "13b": 3, "70b": 4 };
const TARGETS = (Object.keys(TARGET_ORDER) as RoiTarget[]).sort((a, b) => TARGET_ORDER[a] - TARGET_ORDER[b]);
const isTarget = (value: string): value is RoiTarget => Object.hasOwn(TARGET_ORDER, value);

/** What each method would cost on which GPU, scaled to a chosen model size, with a plain verdict. */
export function RoiPanel({ pocId, finished }: { pocId: string; finished: boolean }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [target, setTarget] = useState<RoiTarget>("poc");
  const roi = useQuery({ ...roiQuery(pocId, target, currentLanguage()), enabled: finished });
  // A generation PoC's paired bits score exact match: its columns and test sentence say so.
  const score = roi.data?.comparison?.score === "exact_match" ? "roi.exactMatch" : "roi";

  return (
    <section className="panel" aria-labelledby="roi-title">
      <div className="panel-head">
        <h2 id="roi-title">{t("roi.title")}</h2>
        <label className="inline-field">
          {t("roi.target")}{" "}
          <select
            value={target}
            onChange={(e) => {
              if (isTarget(e.target.value)) setTarget(e.target.value);
            }}
          >
            {TARGETS.map((value) => (
              <option key={value} value={value}>
                {t(`roi.targets.${value}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {!finished ? (
        <p className="muted">{t("roi.unavailable")}</p>
      ) : roi.isPending ? (
        <Loading />
      ) : roi.isError ? (
        <ErrorNotice error={roi.error} onRetry={() => void roi.refetch()} />
      ) : (
        <>
          <p className="verdict" data-testid="roi-verdict">
            {currentLanguage() === "ja" ? roi.data.verdict.ja : roi.data.verdict.en}
          </p>
          {roi.data.guidance.length > 0 && (
            <div className="guidance" data-testid="roi-guidance">
              <h3>{t("roi.guidance")}</h3>
              <ul>
                {roi.data.guidance.map((item, index) => (
                  <li key={`${item.code}-${index}`} data-code={item.code}>
                    {currentLanguage() === "ja" ? item.ja : item.en}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {roi.data.rows.length > 0 && (
            <div className="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("compare.method")}</th>
                    <th scope="col">{t("roi.gpu")}</th>
                    <th scope="col" className="num">
                      {t("roi.memory")}
                    </th>
                    <th scope="col" className="num">
                      {t("roi.saved")}
                    </th>
                    <th scope="col" className="num">
                      {t("roi.steps")}
                    </th>
                    <th scope="col" className="num">
                      {t("roi.gpuHours")}
                    </th>
                    <th scope="col" className="num">
                      {t("roi.cost")}
                    </th>
                    <th scope="col" className="num">
                      {t(`${score}.accuracy`)}
                    </th>
                    <th scope="col" className="num">
                      {t(`${score}.costPerPoint`)}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {roi.data.rows.map((row) => (
                    <tr key={row.method}>
                      <th scope="row">
                        <MethodBadge method={row.method} />
                      </th>
                      <td>{row.gpu ? `${row.gpu.count} × ${row.gpu.name}` : t("common.none")}</td>
                      <td className="num">
                        {row.memory_gb == null ? "—" : formatMegabytes(lang, row.memory_gb * 1024)}
                      </td>
                      <td className="num">
                        {row.memory_saved_pct == null ? "—" : formatPercent(lang, row.memory_saved_pct / 100, 0)}
                      </td>
                      <td className="num" title={t(`roi.stepsSource.${row.steps_source}`)}>
                        {formatNumber(lang, row.steps, 0)}
                        <br />
                        <small className="muted">{t(`roi.stepsSource.${row.steps_source}`)}</small>
                      </td>
                      <td className="num">{formatRange(row.gpu_hours_range, (v) => formatNumber(lang, v, 2))}</td>
                      <td className="num">
                        {formatRange(row.cost_range, (v) => formatCurrency(lang, v, row.currency))}
                      </td>
                      <td className="num">
                        {row.accuracy
                          ? `${formatPercent(lang, row.accuracy.value)} (${formatPercent(lang, row.accuracy.low)}–${formatPercent(lang, row.accuracy.high)})`
                          : "—"}
                      </td>
                      <td className="num">{formatCurrency(lang, row.cost_per_point, row.currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p className="muted" data-testid="roi-assumptions">
            {t("roi.assumptions", {
              dtype: roi.data.dtype,
              recipe: t(`roi.recipes.${roi.data.recipe}`),
              low: formatPercent(lang, roi.data.assumptions.gpu_utilisation_range[0], 0),
              high: formatPercent(lang, roi.data.assumptions.gpu_utilisation_range[1], 0),
              mid: formatPercent(lang, roi.data.assumptions.gpu_utilisation, 0),
              batch: roi.data.assumptions.batch_size,
              seq: roi.data.assumptions.seq_len,
            })}
          </p>
          {roi.data.comparison && (
            <p className="muted">
              {t(roi.data.comparison.significant ? `${score}.significant` : `${score}.notSignificant`, {
                p: formatNumber(lang, roi.data.comparison.p_value, 3),
              })}{" "}
              <span className="glossary-terms">
                <Term term="mcnemar" /> · <Term term="pValue" />
              </span>
            </p>
          )}
        </>
      )}
    </section>
  );
}

/** "low–high" of a range, or "—" when there is none. */
function formatRange(range: number[] | null | undefined, format: (value: number) => string): string {
  const [low, high] = range ?? [];
  if (low == null || high == null) return "—";
  return `${format(low)}–${format(high)}`;
}
