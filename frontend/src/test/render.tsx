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

type Handler = (init: RequestInit | undefined, url: URL) => unknown;

/**
 * A stand-in for the HTTP API in component tests (the real server is exercised by the browser
 * tests): answers by "METHOD /path" and records every request (with its headers).
 */
export function fakeApi(routes: Record<string, Handler>) {
  const calls: { method: string; path: string; body: unknown; headers: Headers }[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://test.local");
    const method = (init?.method ?? "GET").toUpperCase();
    const key = `${method} ${url.pathname}`;
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : init?.body;
    calls.push({ method, path: url.pathname, body, headers: new Headers(init?.headers) });
    const handler = routes[key];
    if (!handler) return new Response(JSON.stringify({ detail: `no fake for ${key}` }), { status: 404 });
    const answer = handler(init, url);
    if (answer instanceof Response) return answer;
    return new Response(JSON.stringify(answer), { status: method === "POST" ? 201 : 200 });
  };
  return { fetchImpl, calls };
}
