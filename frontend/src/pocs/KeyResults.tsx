import { useTranslation } from "react-i18next";
import type { PocPublic } from "../api/types";
import { finalAccuracy, memoryRatio, pairingOf } from "../compare/shaping";
import { MethodBadge } from "../components/MethodBadge";
import { formatNumber, formatPercent } from "../i18n/format";
import { useMethods } from "../methods/useMethods";

/** Per method the best accuracy any of its attempts reached, in display order (methods without one left out). */
export function bestAccuracies(poc: PocPublic, order: (ids: string[]) => string[]): [string, number][] {
  const best = new Map<string, number>();
  for (const run of poc.runs) {
    const acc = finalAccuracy(run);
    if (acc != null && acc > (best.get(run.method) ?? -1)) best.set(run.method, acc);
  }
  return order([...best.keys()]).map((m) => [m, best.get(m)!]);
}

/** A PoC's key results in one line: best accuracy per method and the memory the ZO method saves. */
export function KeyResults({ poc }: { poc: PocPublic }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const methods = useMethods();
  const best = bestAccuracies(poc, (ids) => methods.sortBy(ids, (m) => m));
  const pairing = pairingOf(poc.runs, methods);
  const ratio = memoryRatio(poc.runs, pairing, methods);
  if (best.length === 0 && ratio == null) return <span className="muted">{t("dash.results.none")}</span>;
  return (
    <div className="key-results" data-testid="key-results">
      <span className="badge-row">
        {best.map(([method, acc]) => (
          <span key={method} data-method={method} className="key-accuracy">
            <MethodBadge method={method} /> <strong>{formatPercent(lang, acc)}</strong>
          </span>
        ))}
      </span>
      {pairing && ratio != null && (
        <div className="muted small" data-testid="memory-saving">
          {t("dash.results.memorySaving", {
            method: methods.label(pairing.method),
            baseline: methods.label(pairing.baseline),
            ratio: formatNumber(lang, ratio, 1),
          })}
        </div>
      )}
    </div>
  );
}
