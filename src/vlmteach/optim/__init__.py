"""The test-time optimization pieces: the weighted query loss and one optimization step."""

from vlmteach.optim.loss import query_loss
from vlmteach.optim.step import StepResult, backward_step, one_step_loss, optimization_step

__all__ = ["StepResult", "backward_step", "one_step_loss", "optimization_step", "query_loss"]
