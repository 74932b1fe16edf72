import { useTranslation } from "react-i18next";
import type { PocState } from "../api/types";

export function StateBadge({ state }: { state: PocState }) {
  const { t } = useTranslation();
  return (
    <span className={`badge state-${state}`} data-state={state}>
      {t(`state.${state}`)}
    </span>
  );
}
