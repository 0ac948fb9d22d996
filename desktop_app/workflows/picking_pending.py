"""Picking actions handed to the journal writer and not known stored yet, each with the session state before it.

The session never waits for the disk: it judges the next scan with these laid over the view.
One the journal could not store is taken back with every action judged after it (they depend
on it, Outbox.submit's `after`, so the writer refuses them too), and the session's own state
is put back as it was before it.
"""

from sync.journal_writer import REFUSED, STORED, WAITING, Submission
from sync.outbox import Outbox


class PendingActions:
    """The actions of one session on their way to the journal, oldest first."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._items: list[tuple[Submission, tuple]] = []
        self.rollbacks = 0  # how often actions were taken back: a screen drops verdicts judged before

    def submit(self, user: str, name: str, args: dict, before: tuple) -> Submission:
        """Hand an action to the writer after (and depending on) the ones still on their way.

        before: the session's own state now, put back if this action is refused.
        """
        after = self._items[-1][0] if self._items else None
        submission = self._outbox.submit(user, name, args, after=after)
        self._items.append((submission, before))
        return submission

    def reconcile(self) -> tuple | None:
        """Forget the actions stored since; on a refusal, drop it and all after it and return the state before it."""
        while self._items and self._items[0][0].state == STORED:
            self._items.pop(0)
        for n, (submission, before) in enumerate(self._items):
            if submission.state == REFUSED:
                del self._items[n:]
                self.rollbacks += 1
                return before
        return None

    def submissions(self) -> list[Submission]:
        """The actions still on their way, for the local view to lay over what it reads."""
        return [submission for submission, _ in self._items]

    def waiting(self) -> int:
        """How many are not stored yet."""
        return sum(1 for submission, _ in self._items if submission.state == WAITING)
