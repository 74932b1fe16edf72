import { queryOptions } from "@tanstack/react-query";
import { answer, api } from "./client";
import { queryKeys } from "./keys";
import type { MemoryEstimateRequest, PocState, RoiTarget, TaskType, XAxis } from "./types";

/**
 * The metric names the comparison view draws for a classification PoC. Memory: each run's own kind (`RunPublic.memory_metric`),
 * host RSS on CPU and tensor allocation on a GPU, so both are fetched.
 */
export const MEMORY_METRICS = ["memory/peak_rss_mb", "memory/cuda_peak_allocated_mb"] as const;
export const CHART_METRICS = ["train/loss", ...MEMORY_METRICS, "eval/accuracy"] as const;
/** A generation PoC's evaluations: exact match and token F1 (0..1) and the loss on the completion tokens. */
export const GENERATION_METRICS = ["eval/exact_match", "eval/f1", "eval/loss"] as const;
export const GENERATION_CHART_METRICS = ["train/loss", ...MEMORY_METRICS, ...GENERATION_METRICS] as const;
/** Every name a chart of either task type draws: what live metric events add to the cached series. */
export const LIVE_METRICS = [...CHART_METRICS, ...GENERATION_METRICS] as const;

/** The metric names the charts of a PoC of `taskType` draw. */
export const chartMetrics = (taskType: TaskType): readonly string[] =>
  taskType === "generation" ? GENERATION_CHART_METRICS : CHART_METRICS;
/** The API downsamples each series to at most this many points. */
export const MAX_POINTS = 2000;

// One small query-options factory per resource: components call useQuery(xxxQuery(...)). Every call goes
// through the typed client (`api`), so paths, parameters and answers are checked against the schema.

export const modelsQuery = () =>
  queryOptions({
    queryKey: queryKeys.models(),
    queryFn: ({ signal }) => answer(api.GET("/api/models", { signal })),
    staleTime: 5 * 60_000,
  });

/** Models the memory forecast knows without downloading them (their shapes ship with the server). */
export const knownModelsQuery = () =>
  queryOptions({
    queryKey: queryKeys.knownModels(),
    queryFn: ({ signal }) => answer(api.GET("/api/estimates/models", { signal })),
    staleTime: 60 * 60_000,
  });

/** The method registry: every method's label, colour, display order and hyperparameters. */
export const methodsQuery = () =>
  queryOptions({
    queryKey: queryKeys.methods(),
    queryFn: ({ signal }) => answer(api.GET("/api/methods", { signal })),
    staleTime: 5 * 60_000,
  });

/** The limits of a PoC's settings for the caller (budgets capped by their role in the active workspace). */
export const limitsQuery = () =>
  queryOptions({
    queryKey: queryKeys.limits(),
    queryFn: ({ signal }) => answer(api.GET("/api/limits", { signal })),
    staleTime: 5 * 60_000,
  });

export const datasetsQuery = () =>
  queryOptions({
    queryKey: queryKeys.datasets(),
    queryFn: ({ signal }) => answer(api.GET("/api/datasets", { signal })),
  });

export const gpusQuery = () =>
  queryOptions({
    queryKey: queryKeys.gpus(),
    queryFn: ({ signal }) => answer(api.GET("/api/gpus", { signal })),
    staleTime: 5 * 60_000,
  });

/** The workers online per device kind; refreshed while the page is open (workers come and go). */
export const workersQuery = () =>
  queryOptions({
    queryKey: queryKeys.workers(),
    queryFn: ({ signal }) => answer(api.GET("/api/workers", { signal })),
    refetchInterval: 15_000,
  });

export const pocsQuery = (filter: { q: string; state: PocState | "" }) =>
  queryOptions({
    queryKey: queryKeys.pocs(filter),
    queryFn: ({ signal }) =>
      answer(
        api.GET("/api/pocs", {
          params: { query: { limit: 200, q: filter.q || undefined, state: filter.state || undefined } },
          signal,
        }),
      ),
    // The list has no live stream; a gentle poll keeps states and progress current.
    refetchInterval: 5000,
  });

export const pocQuery = (id: string) =>
  queryOptions({
    queryKey: queryKeys.poc(id),
    queryFn: ({ signal }) => answer(api.GET("/api/pocs/{poc_id}", { params: { path: { poc_id: id } }, signal })),
  });

/** The chart series of a PoC's runs; which ones depends on its task type (a PoC's never changes). */
export const metricsQuery = (id: string, x: XAxis, taskType: TaskType = "classification") =>
  queryOptions({
    queryKey: queryKeys.metrics(id, x),
    queryFn: async ({ signal }) => {
      const data = await answer(
        api.GET("/api/pocs/{poc_id}/metrics", {
          params: {
            path: { poc_id: id },
            query: { names: chartMetrics(taskType).join(","), x, max_points: MAX_POINTS },
          },
          signal,
        }),
      );
      // Start of the measured render time: the data has arrived and is parsed.
      performance.mark("zopoc:metrics-arrived");
      return data;
    },
  });

/** A PoC's projection to `target`; money in the currency the server gives the reader's language (yen in ja). */
export const roiQuery = (id: string, target: RoiTarget, language: "en" | "ja") =>
  queryOptions({
    queryKey: queryKeys.roi(id, target, language),
    queryFn: ({ signal }) =>
      answer(
        api.GET("/api/pocs/{poc_id}/roi", { params: { path: { poc_id: id }, query: { target, language } }, signal }),
      ),
  });

/** A PoC's share reports (never their links: the server keeps only a hash of each token). */
export const reportsQuery = (id: string) =>
  queryOptions({
    queryKey: queryKeys.reports(id),
    queryFn: ({ signal }) =>
      answer(api.GET("/api/pocs/{poc_id}/reports", { params: { path: { poc_id: id } }, signal })),
  });

export const memoryEstimateQuery = (body: MemoryEstimateRequest) =>
  queryOptions({
    queryKey: queryKeys.memoryEstimate(body),
    queryFn: ({ signal }) => answer(api.POST("/api/estimates/memory", { body, signal })),
    staleTime: 60_000,
  });

/** What an evaluation of `evalRows` examples can tell apart (McNemar), for the launch form's guidance. */
export const detectableQuery = (evalRows: number) =>
  queryOptions({
    queryKey: queryKeys.detectable(evalRows),
    queryFn: ({ signal }) =>
      answer(api.GET("/api/estimates/detectable", { params: { query: { eval_rows: evalRows } }, signal })),
    staleTime: Infinity,
  });

// Accounts: what the account screens read. Changes go through useMutation in the screens, which then
// invalidate these keys.

export const tokensQuery = () =>
  queryOptions({
    queryKey: queryKeys.tokens(),
    queryFn: ({ signal }) => answer(api.GET("/api/auth/tokens", { signal })),
  });

export const workspacesQuery = () =>
  queryOptions({
    queryKey: queryKeys.workspaces(),
    queryFn: ({ signal }) => answer(api.GET("/api/workspaces", { signal })),
  });

export const membersQuery = (workspaceId: string) =>
  queryOptions({
    queryKey: queryKeys.members(workspaceId),
    queryFn: ({ signal }) =>
      answer(
        api.GET("/api/workspaces/{workspace_id}/members", { params: { path: { workspace_id: workspaceId } }, signal }),
      ),
  });

/** Pending invitations into a workspace (owners). */
export const invitesQuery = (workspaceId: string) =>
  queryOptions({
    queryKey: queryKeys.invites(workspaceId),
    queryFn: ({ signal }) =>
      answer(
        api.GET("/api/workspaces/{workspace_id}/invites", { params: { path: { workspace_id: workspaceId } }, signal }),
      ),
  });

/** Every pending invitation (administrators). */
export const adminInvitesQuery = () =>
  queryOptions({
    queryKey: queryKeys.adminInvites(),
    queryFn: ({ signal }) => answer(api.GET("/api/admin/invites", { signal })),
  });

export const adminUsersQuery = () =>
  queryOptions({
    queryKey: queryKeys.adminUsers(),
    queryFn: ({ signal }) => answer(api.GET("/api/admin/users", { signal })),
  });

export const adminWorkspacesQuery = () =>
  queryOptions({
    queryKey: queryKeys.adminWorkspaces(),
    queryFn: ({ signal }) => answer(api.GET("/api/admin/workspaces", { signal })),
  });
