"""Errors that tell the developer what is missing and how to get it."""


class MissingToolError(RuntimeError):
    """A program the stack needs is not installed."""

    def __init__(self, tool: str, how: str) -> None:
        super().__init__(f"{tool} is not installed. {how}")
        self.tool = tool
        self.how = how


class ServiceError(RuntimeError):
    """A service did not start, or stopped while it was needed."""
