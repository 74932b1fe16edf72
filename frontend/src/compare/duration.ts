import type { TFunction } from "i18next";

/** A duration for people: seconds under a minute, minutes under an hour, then hours and minutes. */
export function formatDuration(t: TFunction, seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("dash.duration.seconds", { n: s });
  const minutes = Math.round(s / 60);
  if (minutes < 60) return t("dash.duration.minutes", { n: minutes });
  return t("dash.duration.hours", { h: Math.floor(minutes / 60), m: minutes % 60 });
}
