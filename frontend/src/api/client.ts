import createClient, {
  createFinalURL,
  createQuerySerializer,
  defaultPathSerializer,
  type Middleware,
} from "openapi-fetch";
import type { paths } from "./schema.gen";
import type { FieldProblem } from "./types";

/** An HTTP error from the API, carrying the server's explanation when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly problems: FieldProblem[];
  /** The machine-readable reason some refusals carry beside `detail` (e.g. "invite_cancelled"); null otherwise. */
  readonly code: string | null;
  /** What fills the code's message in another language (e.g. `{device: "gpu"}`). */
  readonly params: Record<string, unknown>;

  constructor(
    status: number,
    message: string,
    problems: FieldProblem[] = [],
    code: string | null = null,
    params: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.problems = problems;
    this.code = code;
    this.params = params;
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
    problem: typeof p.problem === "string" ? p.problem : typeof p.msg === "string" ? p.msg : "",
    // A problem with a stable name (a row of an uploaded file) is worded in the reader's language from it.
    code: typeof p.code === "string" ? p.code : null,
    params: isRecord(p.params) ? p.params : null,
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
  const params = isRecord(body) && isRecord(body.params) ? body.params : {};
  if (typeof detail === "string") return new ApiError(status, detail, [], code, params);
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

/** Who is asking: the chosen workspace, and on a state-changing request the CSRF proof of this page. */
const sessionHeaders: Middleware = {
  onRequest({ request }) {
    // Signed-in browsers prove a state-changing request comes from this page (double-submit cookie).
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf && !SAFE_METHODS.has(request.method.toUpperCase())) request.headers.set(CSRF_HEADER, csrf);
    const workspace = activeWorkspace();
    if (workspace) request.headers.set(WORKSPACE_HEADER, workspace);
    request.headers.set("Accept", "application/json");
    return request;
  },
};

/** Every answer other than 2xx becomes an ApiError (a 401 first tells the app to ask "who am I" again). */
const errors: Middleware = {
  async onResponse({ response }) {
    if (response.status === 401 && typeof window !== "undefined") window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    if (response.ok) return undefined;
    const text = await response.clone().text();
    let body: unknown = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = { detail: text.slice(0, 300) };
      }
    }
    throw errorFromBody(response.status, body);
  },
  onError({ error }) {
    // A request given up on (a query cancelled, a page left) stays an AbortError, which TanStack Query
    // recognises; anything else means the network failed: the server is down or unreachable.
    if (error instanceof Error && error.name === "AbortError") return undefined;
    return new ApiError(0, error instanceof Error ? error.message : "network error");
  },
};

// Node's Request (the component tests) needs an absolute URL; in the browser this is the page's origin.
const origin = typeof window !== "undefined" ? window.location.origin : "";

/**
 * The typed client of the zopoc API: paths, parameters, bodies and answers all come from the backend's
 * OpenAPI schema (schema.gen.ts, `npm run gen:api`), so a path or field the server does not have fails
 * the type check. Errors arrive as ApiError (thrown by the middleware).
 */
export const api = createClient<paths>({
  baseUrl: origin,
  credentials: "same-origin",
  // Looked up at each call, not once: the component tests replace fetch with a fake server.
  fetch: (request) => globalThis.fetch(request),
});
api.use(sessionHeaders, errors);

/**
 * A multipart body (an upload) from its typed fields: files keep their names, empty fields are left out.
 * Given to the client as `bodySerializer`.
 */
export function formData(fields: Record<string, Blob | string | number | boolean | null | undefined>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value == null) continue;
    if (value instanceof File) form.append(name, value, value.name);
    else if (value instanceof Blob) form.append(name, value);
    else form.append(name, String(value));
  }
  return form;
}

/** The parsed body of a successful call (a failed one has already been thrown as ApiError by the middleware). */
export async function answer<R extends { data?: unknown; error?: unknown; response: Response }>(
  call: Promise<R>,
): Promise<NonNullable<R["data"]>> {
  const { data, error, response } = await call;
  if (error !== undefined || data == null) {
    throw errorFromBody(response.status, error ?? { detail: "the answer has no body" });
  }
  return data;
}

/** The paths that answer GET. */
export type GetPath = { [P in keyof paths]: paths[P]["get"] extends undefined ? never : P }[keyof paths];
type GetParameters<P extends GetPath> = NonNullable<paths[P]["get"]>["parameters"];

/**
 * The URL of a GET route for what cannot go through the client (EventSource for the live stream), built
 * from the same typed path and parameters.
 */
export function apiUrl<P extends GetPath>(
  path: P,
  params: { path: GetParameters<P>["path"]; query?: GetParameters<P>["query"] },
): string {
  return createFinalURL(path, {
    baseUrl: "",
    params,
    querySerializer: createQuerySerializer(),
    pathSerializer: defaultPathSerializer,
  });
}
