import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

export function NotFound() {
  const { t } = useTranslation();
  return (
    <div className="page">
      <h1>{t("errors.pageTitle")}</h1>
      <p>{t("errors.page")}</p>
      <Link to="/" className="button primary">
        {t("common.back")}
      </Link>
    </div>
  );
}
