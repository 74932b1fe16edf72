"""The first model shapes after a start, asked by several request threads at once, all succeed (they once
failed when shapes were counted by transformers, whose lazy modules are not safe to import from several
threads at the same time; the analytic count keeps no shared state but the cache)."""

import os
import subprocess
import sys

from backend.core.config import REPO_ROOT

CODE = """
import threading
from backend.estimates import shapes

names = ("tiny-bert", "tiny-gpt2", "opt-1.3b", "llama-2-7b", "minilm", "llama-2-13b")
start, errors = threading.Barrier(len(names)), []

def shape(name):
    start.wait()
    try:
        shapes.model_shape(name)
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=shape, args=(name,)) for name in names]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors)
"""


def test_first_shapes_from_many_threads_at_once():
    # A fresh interpreter: nothing imported or cached yet, as in an API process just started.
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=REPO_ROOT,
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr[-2000:]
