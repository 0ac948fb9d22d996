"""Sections plug into the station: opened by role, scans routed to them, each with its own banner messages."""

import pytest
from PySide6.QtWidgets import QLabel

from desktop_app.sections import Section
from scanners.codes import Classified, ToteCode
from tests.desktop_app.appdriver import start_batch

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

BIN = "A-01-01-1"  # a bin label of the test warehouse's shape


class ReturnsSection(Section):
    """A section that exists only in this test: packers book returned totes in it."""

    def __init__(self, app) -> None:
        super().__init__("returns", "Returns", ("packer",), QLabel("Scan a returned tote"),
                         app.banners.voice("returns"))
        self.scans: list[Classified] = []
        self.people: list[str | None] = []

    def accepts(self, code: Classified) -> bool:
        return isinstance(code, ToteCode)

    def handle_scan(self, code: Classified) -> bool:
        if not isinstance(code, ToteCode):
            return False
        self.scans.append(code)
        self.say.show("accept", f"Tote {code.code} booked as returned")
        return True

    def set_person(self, person) -> None:
        super().set_person(person)
        self.people.append(None if person is None else person.username)


def visible_sections(d) -> list[str]:
    return [key for key, button in d.window.nav_buttons.items() if button.isVisible()]


def test_a_section_registered_here_opens_for_its_roles_only_and_gets_the_scans_routed_to_it(server, drive):
    server.add_user("pat", "packer", pin="1111", badge="U0002")
    d = drive()
    returns = ReturnsSection(d.app)
    d.app.station.add(returns)

    d.sign_in("anna")  # a picker: no Returns
    assert visible_sections(d) == ["pick", "exceptions"]
    assert returns.people == [None]
    d.window.section_chosen.emit("returns")  # even when asked for, it does not open
    assert d.app.station.current_section() == "pick"
    d.scan("T-0001")  # a tote during picking goes to picking, not to Returns
    assert returns.scans == []

    d.window.sign_out_requested.emit()
    d.sign_in("pat")  # a packer: Pack, Exceptions and Returns
    assert visible_sections(d) == ["pack", "exceptions", "returns"]
    assert returns.people == [None, None, "pat"]
    d.window.nav_buttons["exceptions"].click()
    d.scan("T-0007")  # on Exceptions, which takes no tote: the station names the sections that do
    assert d.said[-1] == ("reject", "Open Pack or Returns to use this scan.")
    d.window.nav_buttons["returns"].click()
    assert d.app.station.current_section() == "returns"
    d.scan("T-0007")
    assert returns.scans == [ToteCode("T-0007")]
    assert d.said[-1] == ("accept", "Tote T-0007 booked as returned")
    d.scan(BIN)  # nobody of pat's sections uses a bin label
    assert d.said[-1] == ("reject", "This bin label is not used in your work.")
    assert len(returns.scans) == 1


def test_a_scan_for_another_section_names_only_sections_the_person_has(server, drive):
    server.add_user("pat", "packer", pin="1111", badge="U0002")
    d = drive()
    d.sign_in("sam")  # a supervisor has Pick
    d.window.nav_buttons["exceptions"].click()
    d.scan(BIN)
    assert d.said[-1] == ("reject", "Open Pick to use this scan.")

    d.window.sign_out_requested.emit()
    d.sign_in("pat")  # a packer has not
    d.scan(BIN)  # on Pack, which has no use for a bin label: the station answers
    assert d.said[-1] == ("reject", "This bin label is not used in your work.")
    d.window.nav_buttons["exceptions"].click()
    d.scan("4006381333931")
    assert d.said[-1] == ("reject", "Open Pack to use this scan.")
    assert not any("Pick" in message for _, message in d.said[-3:])


def test_an_unknown_code_is_quoted_back_on_any_section(drive):
    d = drive()
    d.sign_in("anna")
    d.scan("XYZ12")
    assert d.banner() == ("reject", 'Not a code Floorhand knows: "XYZ12"')
    d.window.nav_buttons["exceptions"].click()
    d.scan("QQ-" + "7" * 40)
    assert d.banner() == ("reject", 'Not a code Floorhand knows: "QQ-777777777777…77777777"')


def test_a_message_stays_with_its_section_and_its_person(drive):
    d = drive()
    d.sign_in("anna")
    start_batch(d)
    d.scan(BIN)  # totes first: refused, in Pick
    refusal = d.banner()
    assert refusal[0] == "reject"

    d.window.nav_buttons["exceptions"].click()
    assert d.banner() == ("info", "")  # Pick's refusal is not about Exceptions
    d.window.nav_buttons["pick"].click()
    assert d.banner() == refusal  # back in Pick: its last word again, calm and silent
    assert d.app.feedback.banner.settled and d.said[-1] == refusal

    d.scan("U0004")  # sam's badge: the switch form is not anna's Pick
    assert d.banner() == ("info", "Badge U0004: enter your PIN")
    d.window.signin.cancel.click()  # Back: anna's screen as she left it
    assert d.banner() == refusal

    d.window.sign_out_requested.emit()
    assert d.banner() == ("info", "Signed out")
    d.sign_in("sam")
    assert d.banner()[0] == "info" and d.banner()[1].startswith("Hello Sam")
    for key in ("exceptions", "pick"):
        d.window.nav_buttons[key].click()
        assert refusal[1] not in d.banner()[1]

