import { useTranslation } from "react-i18next";
import type { PocState } from "../api/types";

/** A PoC's or run's state; "stopping" is a running run asked to cancel that its worker has not ended yet. */
export function StateBadge({ state, title }: { state: PocState | "stopping"; title?: string }) {
  const { t } = useTranslation();
  return (
    <span className={`badge state-${state}`} data-state={state} title={title}>
      {t(`state.${state}`)}
    </span>
  );
}
