"""The training engine: models, a run's data, the shared head start, the loop, memory probes, JSONL events, CLI.

`python -m worker.train --help`; the spec and the events are docs/CONTRACTS.md section 1. Torch only, no web
code; what the web process needs too (the run spec, data files, built-in datasets, prompts) is in `common/`.
"""
