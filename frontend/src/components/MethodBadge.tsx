import { useTranslation } from "react-i18next";
import type { MethodId } from "../api/types";
import { methodColor } from "../compare/colors";

export function MethodBadge({ method }: { method: MethodId }) {
  const { t } = useTranslation();
  return (
    <span className="badge method-badge" style={{ borderColor: methodColor(method) }}>
      <span className="swatch" aria-hidden="true" style={{ background: methodColor(method) }} />
      {t(`method.${method}`, { defaultValue: method })}
    </span>
  );
}
