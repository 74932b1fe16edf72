"""Running one training run for a Celery task: the child process, its event relay and the lost-run sweep.

Web-free apart from the database models it writes through (no FastAPI); torch is only imported by the
child process (``python -m worker.train``), never here, so a worker's memory stays small and a crash or
OOM kill of a run cannot take the worker down.
"""
