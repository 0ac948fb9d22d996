"""Steps of the picking workflow tests: a session that shows verdicts once stored, and a picker's scans."""

from desktop_app.workflows.picking import PickingSession
from order_api.models import PickTask
from scanners.codes import LocationLabel, ProductCode, ToteCode


class StoredSession(PickingSession):
    """The session as the screen shows it: every outcome once its action is stored (verdict), so a
    test can read the journal right after. The tests of the wait itself use PickingSession."""

    def scan(self, code):
        return self.verdict(super().scan(code), timeout=30)

    def enter_quantity(self, qty, task_id=None):
        return self.verdict(super().enter_quantity(qty, task_id), timeout=30)

    def short(self, reason):
        return self.verdict(super().short(reason), timeout=30)

    def undo_last(self):
        return self.verdict(super().undo_last(), timeout=30)


def product(gtin13: str, quantity: int | None = None) -> ProductCode:
    return ProductCode(gtin="0" + gtin13, raw=gtin13, quantity=quantity)


def assign_totes(session: PickingSession, first: int = 1) -> None:
    n = first
    while session.tote_needed() is not None:
        assert session.scan(ToteCode(f"T-{n:04d}")).kind == "accept"
        n += 1


def pick_current(session: PickingSession):
    """Walk to the current bin and scan items until the task is complete; returns the last outcome."""
    card = session.current()
    assert session.scan(LocationLabel(card.location_label)).kind == "accept"
    for _ in range(card.remaining):
        outcome = session.scan(product(card.gtin))
    return outcome


def pick_everything(session: PickingSession):
    assign_totes(session)
    outcome = None
    while session.current() is not None:
        outcome = pick_current(session)
    return outcome


def server_tasks(server, batch_id: int) -> list[PickTask]:
    with server.db.read() as s:
        tasks = s.query(PickTask).filter_by(batch_id=batch_id).all()
        s.expunge_all()
        return tasks


def queued(core) -> list[tuple[str, dict]]:
    return [(m.name, m.args) for m in core.outbox.in_view()]
