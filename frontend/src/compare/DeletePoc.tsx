import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";
import { api } from "../api/client";
import { queryKeys } from "../api/keys";
import type { PocPublic } from "../api/types";
import { ConfirmButton } from "../accounts/ConfirmButton";
import { usePermissions } from "../auth/permissions";
import { forgetLinks } from "./shareLinks";

/** Where the list learns which PoC was just deleted (to say so once). */
export interface DeletedState {
  deleted: string;
}

/**
 * Deletes the PoC after saying what goes with it (its runs, their metrics, its share links), then returns
 * to the list. Owners only (`permissions.own`; the server refuses anyone else the same way).
 */
export function DeletePoc({ poc }: { poc: PocPublic }) {
  const { t } = useTranslation();
  const can = usePermissions();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const remove = useMutation({
    // 204 without a body; a refusal arrives as ApiError from the client's middleware
    mutationFn: async () => {
      await api.DELETE("/api/pocs/{poc_id}", { params: { path: { poc_id: poc.id } } });
    },
    onSuccess: () => {
      const reports = queryClient.getQueryData<{ data: { id: string }[] }>(queryKeys.reports(poc.id));
      if (reports) forgetLinks(reports.data.map((r) => r.id));
      void navigate("/", { state: { deleted: poc.name } satisfies DeletedState });
      for (const key of [queryKeys.poc(poc.id), queryKeys.metricsOf(poc.id), queryKeys.roiOf(poc.id)])
        queryClient.removeQueries({ queryKey: key });
      queryClient.removeQueries({ queryKey: queryKeys.reports(poc.id) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.pocLists() });
    },
  });
  if (!can.own) return null;
  return (
    <div className="delete-poc">
      <ConfirmButton
        label={remove.isPending ? t("compare.deleting") : t("compare.deletePoc")}
        accessibleLabel={t("compare.deletePocLabel", { name: poc.name })}
        question={t("compare.deleteConfirm", { name: poc.name, runs: poc.runs.length })}
        confirmLabel={t("compare.deleteYes")}
        cancelLabel={t("compare.deleteKeep")}
        disabled={remove.isPending}
        onConfirm={() => remove.mutate()}
      />
      {remove.isError && (
        <p role="alert" className="notice notice-error">
          {t("compare.deleteFailed", { message: remove.error.message })}
        </p>
      )}
    </div>
  );
}
