import { useTranslation } from "react-i18next";
import type { PocPublic, RunPublic } from "../api/types";
import { formatNumber } from "../i18n/format";
import { formatDuration } from "./duration";

type RunTiming = NonNullable<PocPublic["timing"]>["runs"][string];

/** Under a live run's progress: its place in the queue, or the time it still needs at its own pace. */
export function RunTimingNote({ run, timing }: { run: RunPublic; timing: RunTiming | undefined }) {
  const { t, i18n } = useTranslation();
  if (run.state !== "queued" && run.state !== "running") return null;
  const parts: string[] = [];
  if (run.state === "queued") {
    if (timing?.queue_position != null) parts.push(t("dash.timing.queued", { n: timing.queue_position }));
    if (timing?.eta_s != null) parts.push(t("dash.timing.expected", { time: formatDuration(t, timing.eta_s) }));
  } else if (timing?.eta_s != null) {
    parts.push(t("dash.timing.eta", { time: formatDuration(t, timing.eta_s) }));
    if (timing.s_per_step != null)
      parts.push(t("dash.timing.pace", { seconds: formatNumber(i18n.language, timing.s_per_step, 2) }));
  } else {
    parts.push(t("dash.timing.etaUnknown"));
  }
  if (parts.length === 0) return null;
  return (
    <small className="muted run-timing" data-testid="run-timing">
      {parts.join(" · ")}
    </small>
  );
}

/** Above the runs: how long the PoC still needs, and whether its runs wait for one another. */
export function PocTimingNote({ poc }: { poc: PocPublic }) {
  const { t } = useTranslation();
  const timing = poc.timing;
  if (!timing) return null;
  return (
    <div className="notice" data-testid="poc-timing" role="status">
      <p>
        {timing.remaining_s != null
          ? t("dash.timing.remaining", { time: formatDuration(t, timing.remaining_s) })
          : t("dash.timing.remainingUnknown")}
      </p>
      {timing.sequential && <p>{t("dash.timing.sequential")}</p>}
    </div>
  );
}
