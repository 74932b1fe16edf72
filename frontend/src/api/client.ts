import type { FieldProblem } from "./types";

/** An HTTP error from the API, carrying the server's explanation when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly problems: FieldProblem[];
  /** The machine-readable reason some refusals carry beside `detail` (e.g. "invite_cancelled"); null otherwise. */
  readonly code: string | null;

  constructor(status: number, message: string, problems: FieldProblem[] = [], code: string | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.problems = problems;
    this.code = code;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asProblems(value: unknown): FieldProblem[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((p) => ({
    row: typeof p.row === "number" ? p.row : null,
    field: typeof p.field === "string" ? p.field : "",
    problem: typeof p.problem === "string" ? p.problem : String(p.msg ?? ""),
  }));
}

/**
 * Turns an error body into an ApiError. The API answers `{"detail": "text"}` (some refusals add a `code`:
 * `{"detail": "text", "code": "name"}`) or, for validation, `{"detail": {"message", "errors": [...]}}`;
 * FastAPI's own 422 sends `{"detail": [{loc, msg}]}`.
 */
export function errorFromBody(status: number, body: unknown): ApiError {
  const detail = isRecord(body) ? body.detail : undefined;
  const code = isRecord(body) && typeof body.code === "string" ? body.code : null;
  if (typeof detail === "string") return new ApiError(status, detail, [], code);
  if (isRecord(detail)) {
    const message = typeof detail.message === "string" ? detail.message : `HTTP ${status}`;
    return new ApiError(status, message, asProblems(detail.errors));
  }
  if (Array.isArray(detail)) {
    const problems = detail.filter(isRecord).map((d) => ({
      row: null,
      field: Array.isArray(d.loc) ? d.loc.filter((l) => l !== "body").join(".") : "",
      problem: typeof d.msg === "string" ? d.msg : "",
    }));
    return new ApiError(status, problems.map((p) => `${p.field}: ${p.problem}`).join("; "), problems);
  }
  return new ApiError(status, `HTTP ${status}`);
}

export const CSRF_COOKIE = "zopoc_csrf";
export const CSRF_HEADER = "X-CSRF-Token";
export const WORKSPACE_HEADER = "X-Zopoc-Workspace";
export const WORKSPACE_STORAGE_KEY = "zopoc.workspace";
/** Fired on window when the API answers 401: the app then asks the user to sign in. */
export const UNAUTHORIZED_EVENT = "zopoc:unauthorized";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function readCookie(name: string): string | null {
  if (typeof document === "undefined") return null;
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** The workspace the user chose (sent with every request; the server falls back to their first). */
export function activeWorkspace(): string | null {
  try {
    return window.localStorage.getItem(WORKSPACE_STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Calls the API and returns its parsed JSON; throws ApiError on a non-2xx answer. */
export async function apiFetch<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  // Signed-in browsers prove a state-changing request comes from this page (double-submit cookie).
  const method = (init.method ?? "GET").toUpperCase();
  const csrf = readCookie(CSRF_COOKIE);
  if (csrf && !SAFE_METHODS.has(method)) headers.set(CSRF_HEADER, csrf);
  const workspace = activeWorkspace();
  if (workspace) headers.set(WORKSPACE_HEADER, workspace);
  if (init.body && !(init.body instanceof FormData) && !headers.has("Content-Type")) {
    headers.set("Content-Type", "application/json");
  }
  headers.set("Accept", "application/json");
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (cause) {
    // The network itself failed: the server is down or unreachable.
    throw new ApiError(0, cause instanceof Error ? cause.message : "network error");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text.slice(0, 300) };
    }
  }
  if (response.status === 401 && typeof window !== "undefined") window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  if (!response.ok) throw errorFromBody(response.status, body);
  return body as T;
}

export const postJson = <T>(path: string, payload: unknown): Promise<T> =>
  apiFetch<T>(path, { method: "POST", body: JSON.stringify(payload) });

/** A JSON body with another method (PUT, PATCH); like every change it carries the CSRF header. */
export const sendJson = <T>(method: "PUT" | "PATCH", path: string, payload: unknown): Promise<T> =>
  apiFetch<T>(path, { method, body: JSON.stringify(payload) });
