import { useQuery } from "@tanstack/react-query";
import { useDeferredValue } from "react";
import { useTranslation } from "react-i18next";
import { detectableQuery } from "../api/queries";
import { Term } from "../glossary/Term";
import { formatNumber } from "../i18n/format";

/**
 * Before launch: which accuracy difference between two methods the planned evaluation can tell apart, and
 * how many evaluation rows a 5-point difference needs (GET /api/estimates/detectable).
 */
export function Detectability({ evalRows }: { evalRows: number | null }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const rows = useDeferredValue(evalRows);
  const answer = useQuery({ ...detectableQuery(rows ?? 0), enabled: rows != null && rows > 0 });
  if (rows == null || rows <= 0 || !answer.data) return null;
  const d = answer.data;
  const points = (fraction: number) => formatNumber(lang, fraction * 100, 1);
  const common = {
    rows: formatNumber(lang, d.eval_rows, 0),
    accuracy: formatNumber(lang, d.accuracy * 100, 0),
    target: points(d.difference),
    needed: formatNumber(lang, d.rows_needed ?? 0, 0),
  };
  return (
    <div className="notice detectability" data-testid="detectability">
      <p>
        {d.detectable_difference == null
          ? t("dash.plan.tooFew", common)
          : t("dash.plan.detects", { ...common, points: points(d.detectable_difference) })}{" "}
        {d.rows_needed != null && t("dash.plan.needed", common)}
      </p>
      <p className="small muted">
        {t("dash.plan.basis", common)} <Term term="mcnemar" />
      </p>
    </div>
  );
}
