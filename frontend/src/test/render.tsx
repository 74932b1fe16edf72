import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import "../i18n";

/** Renders a page inside the app's providers at `path`; other routes render their path as text. */
export function renderPage(element: ReactElement, path = "/new") {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={path.split("?")[0]} element={element} />
          <Route path="*" element={<p data-testid="navigated" />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

/** What a fake route sees of a request: its method, headers and body (JSON text, or FormData for uploads). */
export interface FakeRequest {
  method: string;
  headers: Headers;
  body: string | FormData | undefined;
}

type Handler = (request: FakeRequest, url: URL) => unknown;

/** The JSON body a fake route received (the test says what it expects there). */
export const jsonOf = <T,>(request: FakeRequest): T =>
  JSON.parse(typeof request.body === "string" ? request.body : "null") as T;

/**
 * A stand-in for the HTTP API in component tests (the real server is exercised by the browser
 * tests): answers by "METHOD /path" and records every request (with its headers). The typed client hands
 * fetch a Request; a plain (url, init) call is accepted as well.
 */
export function fakeApi(routes: Record<string, Handler>) {
  const calls: { method: string; path: string; body: unknown; headers: Headers }[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), "http://test.local"), init);
    const url = new URL(request.url);
    const method = request.method.toUpperCase();
    const key = `${method} ${url.pathname}`;
    const type = request.headers.get("Content-Type") ?? "";
    const body = !request.body
      ? undefined
      : type.startsWith("multipart/")
        ? await request.formData()
        : await request.text();
    const fake: FakeRequest = { method, headers: request.headers, body };
    calls.push({
      method,
      path: url.pathname,
      body: typeof body === "string" ? JSON.parse(body) : body,
      headers: request.headers,
    });
    const handler = routes[key];
    if (!handler) return new Response(JSON.stringify({ detail: `no fake for ${key}` }), { status: 404 });
    const answer = handler(fake, url);
    if (answer instanceof Response) return answer;
    return new Response(JSON.stringify(answer), {
      status: method === "POST" ? 201 : 200,
      headers: { "Content-Type": "application/json" },
    });
  };
  return { fetchImpl, calls };
}
