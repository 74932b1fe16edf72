"""The report's words in English and Japanese (one dict per language, the same keys)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "PoC report",
        "generated": "Generated",
        "expires": "Link valid until",
        "model": "Model",
        "dataset": "Dataset",
        "verdict": "Verdict",
        "charts": "Comparison",
        "chart_loss": "Training loss",
        "chart_accuracy": "Evaluation accuracy",
        "chart_memory": "Memory (MiB)",
        "step": "step",
        "no_data": "no data",
        "final_metrics": "Final metrics",
        "method": "Method",
        "state": "State",
        "steps": "Steps",
        "accuracy": "Accuracy (95% interval)",
        "acc_start": "At start",
        "gain": "Change (points, McNemar p)",
        "train_loss": "Final train loss",
        "s_per_step": "s / step",
        "peak_memory": "Peak memory (MiB)",
        "memory_added": "Training adds (MiB)",
        "kind_host_rss": "host RSS",
        "kind_cuda_allocated": "GPU allocated",
        "kind_cuda_reserved": "GPU reserved",
        "kind_nvml_process": "GPU, process (driver)",
        "estimated": "Estimated (MiB)",
        "memory_roi": "Memory and cost",
        "target": "Target model",
        "memory_gb": "Memory (GB)",
        "saved": "Saved vs AdamW",
        "gpu": "Smallest GPU that fits",
        "gpu_hours": "GPU-hours",
        "cost": "Cost",
        "cost_per_point": "Cost per accuracy point",
        "steps_to_target": "Steps to AdamW's loss",
        "not_reached": "not reached",
        "none": "none fits",
        "settings": "Settings used",
        "fingerprints": "Fingerprints",
        "model_config": "Model config sha256",
        "dataset_sha": "Dataset sha256",
        "params": "parameters",
        "assumptions": (
            "Costs are projections: GPU-hours from the FLOPs of the steps each method needed at "
            "{util:.0%} GPU utilisation, times the catalogue's hourly prices (settings, not "
            "quotes). Memory is the estimate of zopoc's memory model for CUDA. A frozen "
            "snapshot: later changes to the PoC do not change this report."
        ),
        "states": "succeeded|failed|cancelled|running|queued",
    },
    "ja": {
        "title": "PoC レポート",
        "generated": "作成日時",
        "expires": "リンク有効期限",
        "model": "モデル",
        "dataset": "データセット",
        "verdict": "結論",
        "charts": "比較",
        "chart_loss": "学習損失",
        "chart_accuracy": "評価正解率",
        "chart_memory": "メモリ (MiB)",
        "step": "ステップ",
        "no_data": "データなし",
        "final_metrics": "最終指標",
        "method": "手法",
        "state": "状態",
        "steps": "ステップ数",
        "accuracy": "正解率（95%区間）",
        "acc_start": "開始時",
        "gain": "変化（ポイント、McNemar p）",
        "train_loss": "最終学習損失",
        "s_per_step": "秒 / ステップ",
        "peak_memory": "ピークメモリ (MiB)",
        "memory_added": "学習による増加 (MiB)",
        "kind_host_rss": "ホストRSS",
        "kind_cuda_allocated": "GPU確保済み",
        "kind_cuda_reserved": "GPU予約済み",
        "kind_nvml_process": "GPU・プロセス（ドライバー）",
        "estimated": "推定 (MiB)",
        "memory_roi": "メモリとコスト",
        "target": "対象モデル",
        "memory_gb": "メモリ (GB)",
        "saved": "AdamW比の削減",
        "gpu": "収まる最小のGPU",
        "gpu_hours": "GPU時間",
        "cost": "コスト",
        "cost_per_point": "正解率1ポイントあたりのコスト",
        "steps_to_target": "AdamWの損失までのステップ",
        "not_reached": "未到達",
        "none": "収まるGPUなし",
        "settings": "使用した設定",
        "fingerprints": "フィンガープリント",
        "model_config": "モデル設定 sha256",
        "dataset_sha": "データセット sha256",
        "params": "パラメータ",
        "assumptions": (
            "コストは予測値です。各手法が必要としたステップのFLOPsからGPU使用率{util:.0%}で"
            "GPU時間を求め、カタログの時間単価（見積りではなく設定値）を掛けています。"
            "メモリはzopocのメモリモデルによるCUDAでの推定値です。このレポートは凍結された"
            "スナップショットで、後からPoCを変更しても内容は変わりません。"
        ),
        "states": "成功|失敗|キャンセル|実行中|待機中",
    },
}
STATE_KEYS = ("succeeded", "failed", "cancelled", "running", "queued")


def texts(language: str) -> dict[str, str]:
    """The words of ``language`` ("en" | "ja"), with ``state_<name>`` entries for run states."""
    words = dict(TEXTS[language])
    for key, label in zip(STATE_KEYS, words.pop("states").split("|")):
        words[f"state_{key}"] = label
    return words
