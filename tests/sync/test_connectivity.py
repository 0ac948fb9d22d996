"""One test per transition of the connectivity state machine, plus the no-op rule."""

import pytest

from sync.connectivity import EVENTS, TRANSITIONS, Connectivity, SyncState


@pytest.mark.parametrize(("before", "event", "after"), [(b, e, a) for (b, e), a in TRANSITIONS.items()],
                         ids=[f"{b.value}-{e}" for b, e in TRANSITIONS])
def test_transition(before, event, after):
    seen = []
    machine = Connectivity(before, on_change=lambda b, a, e: seen.append((b, a, e)))
    assert machine.fire(event) is after
    assert machine.state is after
    assert seen == ([(before, after, event)] if after is not before else [])


@pytest.mark.parametrize("state", list(SyncState))
def test_events_without_a_transition_leave_the_state(state):
    for event in EVENTS:
        if (state, event) not in TRANSITIONS:
            machine = Connectivity(state)
            assert machine.fire(event) is state


def test_the_docstring_table_is_the_transition_table():
    import sync.connectivity as module

    rows = {tuple(line.split()) for line in module.__doc__.splitlines() if len(line.split()) == 3}
    documented = {(SyncState(b), e, SyncState(a)) for b, e, a in rows if b in {s.value for s in SyncState}}
    assert documented == {(b, e, a) for (b, e), a in TRANSITIONS.items()}


def test_an_unknown_event_is_a_programming_error():
    with pytest.raises(ValueError):
        Connectivity().fire("teleported")
