import { useTranslation } from "react-i18next";
import { LANGUAGES, setLanguage, type Language } from "../i18n";

const NAMES: Record<Language, string> = { en: "English", ja: "日本語" };

/** Two buttons rather than a select: one press switches, and each names itself in its own language. */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <div role="group" aria-label={t("app.language")} className="lang-switch">
      {LANGUAGES.map((lang) => (
        <button
          key={lang}
          type="button"
          lang={lang}
          aria-pressed={i18n.language === lang}
          onClick={() => setLanguage(lang)}
        >
          {NAMES[lang]}
        </button>
      ))}
    </div>
  );
}
