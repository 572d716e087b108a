"""The local engine: runs a parsed pipeline definition step by step, in dependency order.

execution  Engine: start, retry and stop an execution; schedule its steps; keep its record
plan       which steps are ready, and whether each runs, is skipped or stays blocked
step       one step: evaluated by the engine (Condition, Fail) or run by its executor, cached, retried
events     what the engine reports (Event) and how it is asked to stop (StopRequest)
"""

from showcase.local.engine.events import Event, EventKind, OnEvent, StopRequest
from showcase.local.engine.execution import RETRYABLE, Engine
from showcase.local.engine.plan import Readiness

__all__ = ["RETRYABLE", "Engine", "Event", "EventKind", "OnEvent", "Readiness", "StopRequest"]
