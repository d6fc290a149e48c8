"""A request's result assigned to the wrong type: mypy must refuse it."""

from usage import send, history_request

wrong: int = send(history_request)
