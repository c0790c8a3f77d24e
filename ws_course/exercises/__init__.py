"""Automatic checks for the "your turn" exercises, one for each lesson that has one.

``from ws_course.exercises import check_ask`` finds every check here. Each runs
your code against a real server and returns a :class:`~ws_course.exercises.judging.Result`
(see :mod:`ws_course.exercises.judging` for how a verdict is made).
"""

from .article import (
    check_ask,
    check_headcount,
    check_nick,
    check_scream_event,
    check_whisper,
)
from .judging import Result
from .primer import check_boil_all
from .protocols import check_long_poll, check_parse_frame
from .safety import check_rate_limit
from .scaleout import (
    check_count_members,
    check_deliveries,
    check_hear,
    check_new_nickname,
)

__all__ = [
    "Result",
    "check_ask",
    "check_boil_all",
    "check_count_members",
    "check_deliveries",
    "check_headcount",
    "check_hear",
    "check_long_poll",
    "check_new_nickname",
    "check_nick",
    "check_parse_frame",
    "check_rate_limit",
    "check_scream_event",
    "check_whisper",
]
