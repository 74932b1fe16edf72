"""The training engine: models, data, the shared head start, the loop, memory probes, JSONL events, CLI.

`python -m worker.train --help`; the spec and the events are docs/CONTRACTS.md section 1. Torch only, no web
code; `datafiles`, `data` and `spec` are pure Python so the web backend can import them.
"""
