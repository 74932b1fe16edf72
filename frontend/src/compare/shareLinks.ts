// The share links this browser created, by report id. The server keeps only a hash of each token, so a
// link's addresses exist only in the answer that created it; remembering them here lets their creator copy
// and download them again after a reload. Links revoked, expired or made in another browser are not here.
const STORAGE_KEY = "zopoc.shareLinks";

/** A report's addresses as POST /api/pocs/{id}/reports answered them. */
export interface ShareLinks {
  url: string;
  html_url: string;
  pdf_url: string;
}

type Known = Record<string, ShareLinks>;

const isLinks = (value: unknown): value is ShareLinks =>
  typeof value === "object" &&
  value !== null &&
  ["url", "html_url", "pdf_url"].every((key) => typeof (value as Record<string, unknown>)[key] === "string");

function read(): Known {
  try {
    const value: unknown = JSON.parse(window.localStorage.getItem(STORAGE_KEY) ?? "{}");
    if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(
      Object.entries(value).filter((entry): entry is [string, ShareLinks] => isLinks(entry[1])),
    );
  } catch {
    return {};
  }
}

function write(known: Known) {
  try {
    if (Object.keys(known).length === 0) window.localStorage.removeItem(STORAGE_KEY);
    else window.localStorage.setItem(STORAGE_KEY, JSON.stringify(known));
  } catch {
    // storage full or disabled: the new link is still shown until the page is left
  }
}

/** The addresses of a report this browser created, or null. */
export function knownLinks(reportId: string): ShareLinks | null {
  return read()[reportId] ?? null;
}

export function rememberLinks(reportId: string, links: ShareLinks) {
  const { url, html_url, pdf_url } = links;
  write({ ...read(), [reportId]: { url, html_url, pdf_url } });
}

/** Forget the links of these reports (revoked, expired, or gone with their PoC). */
export function forgetLinks(reportIds: string[]) {
  const known = read();
  const left = Object.fromEntries(Object.entries(known).filter(([id]) => !reportIds.includes(id)));
  if (Object.keys(left).length !== Object.keys(known).length) write(left);
}

/** Forget every link (on signing in or out: the next person at this browser must not find them). */
export function forgetAllLinks() {
  write({});
}
