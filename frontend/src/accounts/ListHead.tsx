import { useTranslation } from "react-i18next";
import { formatNumber } from "../i18n/format";

/** The head of an account list: its title and, once loaded, how many rows it has ("3 members"). */
export function ListHead({
  id,
  title,
  countKey,
  count,
}: {
  id: string;
  title: string;
  countKey: string;
  count: number | undefined;
}) {
  const { t, i18n } = useTranslation();
  return (
    <div className="panel-head">
      <h2 id={id}>{title}</h2>
      {count !== undefined && (
        <span className="muted">{t(countKey, { count, value: formatNumber(i18n.language, count, 0) })}</span>
      )}
    </div>
  );
}
