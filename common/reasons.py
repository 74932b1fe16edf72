"""Why a run stopped or failed: one table of stable codes with their English sentences.

The engine and the service write a run's reason as English text (the stored ``runs.error``, the ``finished``
event's ``reason``); readers in other languages need a code and its parameters instead. Both come from this
table: producers write ``describe(code, **params)`` and the API reads the text back with ``parse(text)``, so
the English sentence stays the fallback (and what older rows hold) while the dashboard words the code in the
reader's language.

Template syntax: ``{name}`` is a parameter (any text, or the pattern named in ``patterns``); ``[...]`` is an
optional part, written only when every parameter inside it is given (not None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


@dataclass(frozen=True)
class Reason:
    code: str
    template: str
    patterns: dict[str, str] = field(default_factory=dict)

    def format(self, params: dict[str, Any]) -> str:
        def optional(match: re.Match[str]) -> str:
            names = _PLACEHOLDER.findall(match.group(1))
            return match.group(1) if all(params.get(n) is not None for n in names) else ""

        text = _OPTIONAL.sub(optional, self.template)
        return _PLACEHOLDER.sub(lambda m: str(params[m.group(1)]), text)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        def literal(text: str) -> str:
            out, last = [], 0
            for m in _PLACEHOLDER.finditer(text):
                out.append(re.escape(text[last : m.start()]))
                out.append(f"(?P<{m.group(1)}>{self.patterns.get(m.group(1), '.+?')})")
                last = m.end()
            out.append(re.escape(text[last:]))
            return "".join(out)

        parts, last = [], 0
        for m in _OPTIONAL.finditer(self.template):
            parts.append(literal(self.template[last : m.start()]))
            parts.append(f"(?:{literal(m.group(1))})?")
            last = m.end()
        parts.append(literal(self.template[last:]))
        return re.compile("".join(parts), re.DOTALL)


_NUMBER = r"-?[\d.]+(?:e[+-]?\d+)?|nan|inf|-inf"

# Most specific first: parse() takes the first template the whole text matches.
REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason("cancelled_on_request", "cancelled on request (SIGTERM) after finishing the current step"),
        Reason("cancelled_before_start", "cancelled before it started"),
        Reason(
            "diverged",
            "diverged: loss became {loss} at step {step}",
            {"loss": _NUMBER, "step": r"\d+"},
        ),
        Reason("gpu_out_of_memory", "out of GPU memory: {detail}"),
        Reason("could_not_start", "could not start: {detail}"),
        Reason(
            "killed_by_oom_killer",
            "the training process was killed by the kernel's out-of-memory killer (SIGKILL): the run "
            "needs more memory than this worker has[; its peak memory was {peak_mb} MB]. Try a smaller "
            "batch size, a shorter max length, a zeroth-order method or a larger machine.",
            {"peak_mb": r"\d+"},
        ),
        Reason(
            "killed",
            "the training process was killed (SIGKILL) — likely out of memory (the kernel's OOM killer) "
            "or stopped by an operator[; its peak memory was {peak_mb} MB]. Try a smaller batch size or "
            "a larger machine.",
            {"peak_mb": r"\d+"},
        ),
        Reason(
            "ended_by_signal",
            "the training process ended abruptly by {signal}[; its peak memory was {peak_mb} MB]"
            "[. Last output:\n{output}]",
            {"signal": r"SIG[A-Z0-9]+", "peak_mb": r"\d+"},
        ),
        Reason(
            "exited_without_finishing",
            "the training process exited with code {exit_code} without finishing"
            "[; its peak memory was {peak_mb} MB][. Last output:\n{output}]",
            {"exit_code": r"-?\d+", "peak_mb": r"\d+"},
        ),
        Reason("child_exited", "child exited with {exit_code} without 'finished'", {"exit_code": r"-?\d+"}),
        Reason("unknown_status", "the training process reported an unknown status {status}"),
        Reason("process_not_started", "the training process could not be started: {detail}"),
        Reason(
            "dataset_not_on_worker",
            "the dataset file {file} is not on this worker (looked in {folder}); workers on other "
            "machines need the API's data folder shared with them (ZOPOC_DATA_DIR, here {data_dir})",
        ),
        Reason(
            "lost_worker",
            "the worker running this run stopped responding (lost worker): no heartbeat for "
            "{seconds} s. The machine or the worker process may have been stopped; retry the run.",
            {"seconds": r"\d+"},
        ),
        Reason("broker_refused", "could not be queued: the task broker did not accept it; retry the run"),
        # Last: any exception the engine did not expect, "ValueError: …".
        Reason("crashed", "{exception}: {detail}", {"exception": r"[A-Z]\w*(?:Error|Exception|Interrupt)"}),
    )
}


def describe(code: str, **params: Any) -> str:
    """The English sentence of ``code`` filled with ``params`` (what is stored and shown as fallback)."""
    return REASONS[code].format(params)


def parse(text: str | None) -> tuple[str, dict[str, str]] | None:
    """The code and parameters of a reason written by ``describe``; None for any other text."""
    if not text:
        return None
    for reason in REASONS.values():
        match = reason.regex.fullmatch(text)
        if match:
            return reason.code, {k: v for k, v in match.groupdict().items() if v is not None}
    return None
