class DomainError(Exception):
    """A domain rule refused an operation.

    `code` is stable and machine-readable (API clients branch on it); `message` is a
    translated sentence for people. `status` is the HTTP status the API answers with:
    400 for invalid input, 409 for a conflict with the record's current state.
    """

    def __init__(self, message, *, code: str, status: int = 400, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.fields = fields or {}

    def __str__(self) -> str:
        return str(self.message)
