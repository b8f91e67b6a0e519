from .http import HTTPCycle
from .lifespan import LifespanCycle, LifespanCycleState

__all__ = ["HTTPCycle", "LifespanCycle", "LifespanCycleState"]
