import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "./en";
import { ja } from "./ja";

export const LANGUAGES = ["en", "ja"] as const;
export type Language = (typeof LANGUAGES)[number];
export const STORAGE_KEY = "zopoc.lang";

function isLanguage(value: string | null | undefined): value is Language {
  return value === "en" || value === "ja";
}

/**
 * Picks the start-up language: `?lang=` in the URL wins (so a shared link opens in the sender's
 * language), then the choice remembered in localStorage, then the browser's preference.
 */
export function detectLanguage(search: string, stored: string | null, navigatorLanguages: readonly string[]): Language {
  const fromUrl = new URLSearchParams(search).get("lang");
  if (isLanguage(fromUrl)) return fromUrl;
  if (isLanguage(stored)) return stored;
  return navigatorLanguages.some((l) => l.toLowerCase().startsWith("ja")) ? "ja" : "en";
}

function readStored(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage can be disabled (private mode, policies): fall back quietly
  }
}

/** Switches the language, remembers it and keeps <html lang> right for screen readers and fonts. */
export function setLanguage(language: Language): void {
  void i18n.changeLanguage(language);
  try {
    window.localStorage.setItem(STORAGE_KEY, language);
  } catch {
    /* not remembered, still switched */
  }
}

export function currentLanguage(): Language {
  return isLanguage(i18n.language) ? i18n.language : "en";
}

i18n.on("languageChanged", (lng) => {
  if (typeof document !== "undefined") document.documentElement.lang = lng;
});

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, ja: { translation: ja } },
  lng:
    typeof window === "undefined"
      ? "en"
      : detectLanguage(window.location.search, readStored(), window.navigator.languages ?? []),
  fallbackLng: "en",
  interpolation: { escapeValue: false }, // React escapes already
  returnNull: false,
});

if (typeof document !== "undefined") document.documentElement.lang = i18n.language;

export default i18n;
