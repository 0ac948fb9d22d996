"""Push answers as the API client hands them to the outbox, for tests that file results by hand."""

from sync.answers import MutationResult


def Result(id: str, status: str, code: str | None = None, message: str | None = None,  # noqa: N802
           original_status: str | None = None) -> MutationResult:
    """One entry of a push answer: applied, duplicate or rejected with a code and message."""
    return MutationResult(id, status, code, message, original_status)
