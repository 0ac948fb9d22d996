"""Timers around the parts of a picking scan's way, for `benchmarks.scan_latency --phases`."""

import time


def time_phases() -> dict[str, list[float]]:
    """Wrap the parts of a scan's way with timers (milliseconds by phase); for --phases."""
    from desktop_app.views.picking.picking_view import PickingView
    from desktop_app.workflows.picking import PickingSession

    phases: dict[str, list[float]] = {}
    judge, draw, tell, release = PickingSession.scan, PickingView._draw, PickingView._tell, PickingView._release
    told: list[float] = []  # when the journal writer said "stored", not yet taken up by the UI thread

    def add(name: str, since: float) -> None:
        phases.setdefault(name, []).append((time.perf_counter() - since) * 1000)

    def scan(session, code):
        kind, started = type(code).__name__, time.perf_counter()
        outcome = judge(session, code)
        add(f"{kind}: PickingSession.scan", started)
        if outcome.saving is not None:
            handed = time.perf_counter()
            outcome.saving.when_done(lambda _s: add(f"{kind}: handed over to stored", handed))
        return outcome

    def drawn(view, screen):
        started = time.perf_counter()
        draw(view, screen)
        add("PickingView._draw", started)

    def stored(view, submission):
        told.append(time.perf_counter())
        tell(view, submission)

    def released(view):
        if told:
            add("stored, until the UI thread takes it up", told.pop(0))
        release(view)

    PickingSession.scan, PickingView._draw, PickingView._tell, PickingView._release = scan, drawn, stored, released
    return phases
