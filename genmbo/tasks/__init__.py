"""Benchmark tasks: offline data plus a hidden oracle, by name."""

from genmbo.tasks.base import Task
from genmbo.tasks.registry import get_task, task_names

__all__ = ["Task", "get_task", "task_names"]
