"""Memory forecasts, the GPU catalogue, accuracy statistics and ROI of a PoC.

Modules: ``shapes`` (parameter counts from config.json, no torch), ``memory`` (bytes per term per optimizer),
``gpus`` (catalogue and fit), ``stats`` (Wilson interval, McNemar), ``roi`` (cost and verdict),
``calibration`` (measured / estimated ratios from finished runs). HTTP: ``backend.api.routes.estimates``.
"""
