"""The test-time optimization pieces: the weighted query loss, the objectives (the teacher's, the
oracle's), gradient modes, one optimization step and the early-stopping loop."""

from vlmteach.optim.gradmode import GRAD_MODES, clean_prediction
from vlmteach.optim.loss import frames_loss, query_loss
from vlmteach.optim.objective import Objective, ReferenceObjective, TeacherObjective
from vlmteach.optim.step import (
           StepResult,
           backward_step,
           one_step_loss,
           optimization_step,
)
from vlmteach.optim.tto import TTOConfig, TTOTrace, optimize, optimize_objective, teacher_loss

__all__ = ["GRAD_MODES", "Objective", "ReferenceObjective", "StepResult", "TTOConfig", "TTOTrace", "TeacherObjective",
           "backward_step", "clean_prediction", "frames_loss", "one_step_loss", "optimization_step", "optimize",
           "optimize_objective", "query_loss", "teacher_loss"]
