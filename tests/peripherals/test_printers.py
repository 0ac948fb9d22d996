"""Tests for peripherals.printers: a real printer on loopback, a real folder, a real (fake) lp, the station setting."""

import os
import stat

import pytest

from peripherals.printers import (CupsPrinter, FolderPrinter, PrinterProblem, ProblemKind, RawTcpPrinter,
                                  printer_from_setting)
from peripherals.zebra_status import HostStatus, parse_host_status
from tests.peripherals.label_printer import LoopbackLabelPrinter, host_status_answer

LABEL = b"^XA^FO50,50^A0N,40,40^FDParcel 1 of 2^FS^XZ"


@pytest.fixture
def bench_printer():
    printer = LoopbackLabelPrinter()
    yield printer
    printer.switch_off()


def tcp(printer: LoopbackLabelPrinter, timeout: float = 5.0) -> RawTcpPrinter:
    return RawTcpPrinter("127.0.0.1", printer.port, timeout=timeout)


# --- the ~HS answer --------------------------------------------------------------------

@pytest.mark.parametrize(("status", "expected"), [
    ("ok", HostStatus()),
    ("paper_out", HostStatus(paper_out=True, paused=True)),
    ("paused", HostStatus(paused=True)),
    ("head_open", HostStatus(head_open=True)),
    ("ribbon_out", HostStatus(ribbon_out=True, paused=True)),
])
def test_host_status_flags_are_read_from_their_documented_positions(status, expected):
    assert parse_host_status(host_status_answer(status)) == expected


def test_every_flag_of_the_answer_is_read():
    answer = (b"\x02030,0,0,1245,000,1,0,1,000,1,1,1\x03\r\n"
              b"\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n")
    assert parse_host_status(answer) == HostStatus(buffer_full=True, partial_format=True, corrupt_ram=True,
                                                   under_temperature=True, over_temperature=True)


@pytest.mark.parametrize("reply", [
    b"",
    b"hello printer",
    b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n",  # one string of three
    b"\x02030,0,0\x03\r\n\x02001,0,0,0\x03\r\n\x021234,0\x03\r\n",  # too few fields
    b"\x02030,2,0,1245,000,0,0,0,000,0,0,0\x03\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\x021234,0\x03",  # flag 2
    b"\x02030,x,0,1245,000,0,0,0,000,0,0,0\x03\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\x021234,0\x03",
    "\x02030,0,0,1245,000,0,0,0,000,0,0,ä\x03\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\x021234,0\x03".encode(),
    bytes(range(256)),
])
def test_anything_but_a_host_status_answer_is_refused(reply):
    with pytest.raises(ValueError):
        parse_host_status(reply)


# --- raw TCP -----------------------------------------------------------------------------

def test_a_ready_printer_gets_the_label_after_one_status_query(bench_printer):
    tcp(bench_printer).send(LABEL)
    assert bench_printer.wait_for_labels(1) == [LABEL]
    assert bench_printer.queries == 1
    assert tcp(bench_printer).check().ready


@pytest.mark.parametrize(("status", "kind"), [
    ("paper_out", ProblemKind.PAPER_OUT),  # not "paused", although a printer out of paper pauses too
    ("head_open", ProblemKind.HEAD_OPEN),
    ("paused", ProblemKind.PAUSED),
    ("ribbon_out", ProblemKind.RIBBON_OUT),
    ("garbage", ProblemKind.STATUS_UNREADABLE),
])
def test_a_printer_that_cannot_print_gets_nothing(bench_printer, status, kind):
    bench_printer.status = status
    with pytest.raises(PrinterProblem) as caught:
        tcp(bench_printer).send(b"^XA^FDrefused^FS^XZ")
    assert caught.value.kind == kind and not caught.value.maybe_sent
    assert tcp(bench_printer).check().problem == kind
    bench_printer.status = "ok"
    tcp(bench_printer).send(LABEL)
    assert bench_printer.wait_for_labels(1) == [LABEL]  # the refused label never arrived


def test_a_printer_that_does_not_answer_the_status_query_gets_nothing(bench_printer):
    bench_printer.status = "silent"
    with pytest.raises(PrinterProblem) as caught:
        tcp(bench_printer, timeout=0.3).send(LABEL)
    assert caught.value.kind == ProblemKind.NOT_ANSWERING and not caught.value.maybe_sent
    assert bench_printer.labels == []


def test_a_closed_port_is_offline(bench_printer):
    printer = tcp(bench_printer)
    bench_printer.switch_off()
    with pytest.raises(PrinterProblem) as caught:
        printer.send(LABEL)
    assert caught.value.kind == ProblemKind.OFFLINE and not caught.value.maybe_sent
    assert printer.check().problem == ProblemKind.OFFLINE


def test_a_connection_lost_while_sending_may_have_printed(bench_printer):
    bench_printer.status = "hang_up"
    with pytest.raises(PrinterProblem) as caught:
        tcp(bench_printer).send(b"^XA" + b"^FDx^FS" * 2_000_000 + b"^XZ")  # larger than any socket buffer
    assert caught.value.kind == ProblemKind.OFFLINE and caught.value.maybe_sent


# --- folder ------------------------------------------------------------------------------

def test_labels_land_whole_in_the_folder_numbered_in_printing_order(tmp_path):
    folder = tmp_path / "labels"
    folder.mkdir()
    printer = FolderPrinter(folder)
    assert printer.check().ready
    for n in (1, 2, 3):
        printer.send(b"label %d" % n)
    assert sorted(os.listdir(folder)) == ["000001-label.zpl", "000002-label.zpl", "000003-label.zpl"]
    assert (folder / "000002-label.zpl").read_bytes() == b"label 2"
    FolderPrinter(folder).send(b"after a restart")  # the numbering goes on from the files there
    assert (folder / "000004-label.zpl").read_bytes() == b"after a restart"
    assert not [name for name in os.listdir(folder) if name.startswith(".")]


def test_a_missing_folder_is_a_problem_and_leaves_nothing_behind(tmp_path):
    printer = FolderPrinter(tmp_path / "share-not-mounted")
    with pytest.raises(PrinterProblem) as caught:
        printer.send(LABEL)
    assert caught.value.kind == ProblemKind.OFFLINE and not caught.value.maybe_sent
    assert printer.check().problem == ProblemKind.OFFLINE
    assert os.listdir(tmp_path) == []


# --- CUPS --------------------------------------------------------------------------------

FAKE_LP = """#!/bin/sh
# lp as CUPS has it, for tests: records its arguments and the job, or refuses an unknown queue.
if [ "$2" = "Missing" ]; then echo "lp: The printer or class does not exist." >&2; exit 1; fi
printf '%s\\n' "$@" > "$FAKE_CUPS/lp-args"
cat > "$FAKE_CUPS/job"
echo "request id is $2-7 (1 file(s))"
"""

FAKE_LPSTAT = """#!/bin/sh
case "$2" in
  Missing) echo "lpstat: Invalid destination name in list \\"Missing\\"." >&2; exit 1;;
  Stopped) printf 'printer Stopped disabled since Mon 30 Nov 2026 08:00:00 -\\n\\tPaused by the packer\\n';;
  *) echo "printer $2 is idle.  enabled since Mon 30 Nov 2026 08:00:00";;
esac
"""


@pytest.fixture
def fake_cups(tmp_path, monkeypatch):
    """lp and lpstat as real processes first on PATH; what lp received lands in the returned folder."""
    bin_dir, spool = tmp_path / "bin", tmp_path / "cups"
    bin_dir.mkdir()
    spool.mkdir()
    for name, script in (("lp", FAKE_LP), ("lpstat", FAKE_LPSTAT)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CUPS", str(spool))
    return spool


def test_cups_gets_the_raw_label_on_stdin(fake_cups):
    CupsPrinter("Zebra_Bench_3").send(LABEL)
    assert (fake_cups / "job").read_bytes() == LABEL
    assert (fake_cups / "lp-args").read_text().split() == ["-d", "Zebra_Bench_3", "-o", "raw"]
    assert CupsPrinter("Zebra_Bench_3").check().ready


def test_cups_refusing_the_job_says_why(fake_cups):
    with pytest.raises(PrinterProblem) as caught:
        CupsPrinter("Missing").send(LABEL)
    assert caught.value.kind == ProblemKind.REFUSED and "does not exist" in caught.value.detail
    assert not caught.value.maybe_sent and not (fake_cups / "job").exists()
    assert CupsPrinter("Missing").check().problem == ProblemKind.REFUSED


def test_a_disabled_cups_queue_is_paused(fake_cups):
    status = CupsPrinter("Stopped").check()
    assert status.problem == ProblemKind.PAUSED and "Paused by the packer" in status.detail


def test_without_lp_the_problem_says_cups_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no lp anywhere
    with pytest.raises(PrinterProblem) as caught:
        CupsPrinter("Zebra").send(LABEL)
    assert caught.value.kind == ProblemKind.REFUSED and "lp not found" in caught.value.detail
    assert CupsPrinter("Zebra").check().problem == ProblemKind.REFUSED


# --- the station setting -------------------------------------------------------------------

def test_the_station_setting_names_the_printer(tmp_path):
    raw = printer_from_setting("tcp://10.0.4.21")
    assert isinstance(raw, RawTcpPrinter) and (raw.host, raw.port) == ("10.0.4.21", 9100)
    assert printer_from_setting("TCP://[fd00::7]:9101").name == "tcp://[fd00::7]:9101"
    assert printer_from_setting("cups:Zebra_Bench_3").name == "cups:Zebra_Bench_3"
    folder = printer_from_setting(f"folder:{tmp_path}")
    assert isinstance(folder, FolderPrinter) and folder.path == tmp_path
    assert [printer_from_setting(empty) for empty in ("", "   ", None)] == [None, None, None]


@pytest.mark.parametrize("setting", [
    "10.0.4.21", "http://10.0.4.21", "tcp:10.0.4.21", "tcp://", "tcp://10.0.4.21:0", "tcp://10.0.4.21:70000",
    "tcp://10.0.4.21:port", "tcp://admin@10.0.4.21", "tcp://10.0.4.21/queue", "cups:", "cups:two words", "folder:",
])
def test_a_setting_that_is_not_understood_says_what_to_write(setting):
    with pytest.raises(ValueError, match="tcp://|CUPS|folder|port"):
        printer_from_setting(setting)
