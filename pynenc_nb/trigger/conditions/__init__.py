"""The conditions a trigger can wait for, and the contexts their argument providers receive."""

from pynenc_nb.trigger.conditions.base import ArgumentFilter, CompositeLogic, ConditionContext
from pynenc_nb.trigger.conditions.cron import CronCondition, CronContext
from pynenc_nb.trigger.conditions.event import EventCondition, EventContext
from pynenc_nb.trigger.conditions.exception import ExceptionCondition, ExceptionContext
from pynenc_nb.trigger.conditions.result import ResultCondition, ResultContext
from pynenc_nb.trigger.conditions.status import StatusCondition, StatusContext

Condition = CronCondition | EventCondition | StatusCondition | ResultCondition | ExceptionCondition

__all__ = [
    "ArgumentFilter",
    "CompositeLogic",
    "Condition",
    "ConditionContext",
    "CronCondition",
    "CronContext",
    "EventCondition",
    "EventContext",
    "ExceptionCondition",
    "ExceptionContext",
    "ResultCondition",
    "ResultContext",
    "StatusCondition",
    "StatusContext",
]
