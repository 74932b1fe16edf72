// Number and date formatting through Intl with the active language, so "1,234.5" and
// "2026/11/28 15:04" follow the reader's conventions. Formatters are cached per language and options.
const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function numberFormat(lang: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `n|${lang}|${JSON.stringify(options)}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(lang, options);
    cache.set(key, f);
  }
  return f as Intl.NumberFormat;
}

export function formatNumber(lang: string, value: number | null | undefined, maximumFractionDigits = 2): string {
  if (value == null || !Number.isFinite(value)) return "—";
  return numberFormat(lang, { maximumFractionDigits }).format(value);
}

/** A share in 0..1 written as a percentage ("87.5%"). */
export function formatPercent(lang: string, fraction: number | null | undefined, digits = 1): string {
  if (fraction == null || !Number.isFinite(fraction)) return "—";
  return numberFormat(lang, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(
    fraction,
  );
}

export function formatCurrency(lang: string, value: number | null | undefined, currency: string | null): string {
  if (value == null || !Number.isFinite(value)) return "—";
  return numberFormat(lang, { style: "currency", currency: currency || "USD", maximumFractionDigits: 2 }).format(value);
}

/** Megabytes as "512 MB" or, from 1 GB on, "1.2 GB". */
export function formatMegabytes(lang: string, mb: number | null | undefined): string {
  if (mb == null || !Number.isFinite(mb)) return "—";
  if (mb >= 1024) return `${formatNumber(lang, mb / 1024, 1)} GB`;
  return `${formatNumber(lang, mb, 0)} MB`;
}

export function formatDateTime(lang: string, iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  const key = `d|${lang}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    cache.set(key, f);
  }
  return (f as Intl.DateTimeFormat).format(date);
}

/** A date and time in the reader's time zone, naming the zone ("Dec 16, 2026, 6:00 PM GMT+9" / "2026年12月16日 18:00 JST"). */
export function formatDateTimeZone(lang: string, iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  const key = `dz|${lang}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang, {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "numeric",
      minute: "2-digit",
      timeZoneName: "short",
    });
    cache.set(key, f);
  }
  return (f as Intl.DateTimeFormat).format(date);
}

/** Large counts in the reader's short form: "22.7M" in English, "2271万" in Japanese. */
export function formatCompact(lang: string, value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return "—";
  return numberFormat(lang, { notation: "compact", maximumSignificantDigits: 3 }).format(value);
}
