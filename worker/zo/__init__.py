"""Zeroth-order optimizers (torch only): MeZO, LOZO and LOZO-M behind a torch.optim-style interface.

opt = LOZO(model.parameters(), lr=1e-4, zo_eps=1e-3, rank=2, step_interval=50, seed=0)
loss = opt.step(closure)   # closure() -> loss of the current batch; called exactly twice, under no_grad
"""

from worker.zo.base import ZOOptimizer
from worker.zo.lozo import LOZO, LOZOM
from worker.zo.mezo import MeZO

__all__ = ["LOZO", "LOZOM", "MeZO", "ZOOptimizer"]
