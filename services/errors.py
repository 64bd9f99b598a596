"""The shape shared by the domain's "this input breaks a rule" exceptions."""

from __future__ import annotations


class FieldError(ValueError):
    """``field``: the form field (or input) at fault; ``code``: which rule it breaks.
    The view turns the pair into a French message beside that field."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field, self.code = field, code
