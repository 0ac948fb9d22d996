"""Timers around the parts of a picking scan's way, for `benchmarks.scan_latency --phases`."""

import time


def time_phases() -> dict[str, list[float]]:
    """Wrap the parts of a scan's way with timers (milliseconds by phase); for --phases."""
    from desktop_app.views.picking.picking_view import PickingView
    from desktop_app.workflows.picking import PickingSession

    phases: dict[str, list[float]] = {}
    judge, draw = PickingSession.scan, PickingView._draw

    def scan(session, code):
        kind, started = type(code).__name__, time.perf_counter()
        outcome = judge(session, code)
        phases.setdefault(f"{kind}: PickingSession.scan", []).append((time.perf_counter() - started) * 1000)
        if outcome.saving is not None:
            handed = time.perf_counter()
            outcome.saving.when_done(lambda _s: phases.setdefault(f"{kind}: handed over to stored", []).append(
                (time.perf_counter() - handed) * 1000))
        return outcome

    def drawn(view, screen):
        started = time.perf_counter()
        draw(view, screen)
        phases.setdefault("PickingView._draw", []).append((time.perf_counter() - started) * 1000)

    PickingSession.scan, PickingView._draw = scan, drawn
    return phases
