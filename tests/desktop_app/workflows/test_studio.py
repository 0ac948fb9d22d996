"""The studio workflow on a real local store, outbox and capture ledger: scans and captures in, actions and files out.

The replica is filled the way a pull fills it (a feed page stored by sync.store.replica);
captures are real JPEG files in a capture folder of tmp_path, moved by a real CaptureLedger.
"""

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from PIL import Image, ImageCms

from desktop_app.workflows.studio import StudioOptions, StudioSession
from scanners.classify import classify
from sync.feed import decode_page
from sync.outbox import Outbox
from sync.store import replica
from sync.store.database import LocalStore
from sync.studio.captures import CaptureLedger
from sync.studio.hotfolder import Capture
from sync.view import LocalView
from tests.sync.rows import complete

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def product(pid: int, sku: str, gtin: str, name: str, angles: list[str], min_px: int = 32) -> dict:
    return complete("product", id=pid, sku=sku, gtin=gtin, name=name, shot_angles=angles,
                    min_width_px=min_px, min_height_px=min_px)


def shot(sid: int, p: dict, status: str, qc_comment: str | None = None) -> dict:
    return complete("shot", id=sid, product_id=p["id"], sku=p["sku"], name=p["name"], status=status,
                    qc_comment=qc_comment, angles=p["shot_angles"], min_width_px=p["min_width_px"],
                    min_height_px=p["min_height_px"])


JACKET = product(1, "JKT-000001", "4006381333931", "Rain Jacket, Olive, L", ["front", "back", "side"])
TEE = product(2, "TEE-000002", "4012345678901", "Cotton Tee, White, M", ["front", "back"], min_px=2000)
MUG = product(3, "MUG-000003", "5901234123457", "Enamel Mug", ["front", "top"])
BAG = product(4, "BAG-000004", "4000000000006", "Canvas Bag", ["front"])
CAP = product(5, "CAP-000005", "4000000000013", "Baseball Cap, Navy", ["front", "side"])
SOCKS = product(6, "SCK-000006", "4000000000020", "Wool Socks", ["front", "back"])

FEED = {
    "catalog": [("product", p) for p in (JACKET, TEE, MUG, BAG, CAP, SOCKS)],
    "studio": [
        ("shot", shot(11, JACKET, "open")),
        ("shot", shot(12, TEE, "open")),
        ("shot", shot(14, BAG, "approved")),
        ("shot", shot(15, CAP, "rejected", "Background is grey, not white")),
        ("shot", shot(16, SOCKS, "shot")),
        ("asset", complete("asset", id=31, product_id=1, angle="front", integrity="verified")),
        ("asset", complete("asset", id=32, product_id=1, angle=None)),  # uploaded, not assigned yet
        ("asset", complete("asset", id=33, product_id=6, angle="front")),
        ("asset", complete("asset", id=34, product_id=6, angle="back")),
        ("sample", complete("sample", id=21, product_id=1, barcode="SMP-000001", status="in_studio",
                            checked_in_at=(NOW - timedelta(hours=3, minutes=20)).isoformat())),
        ("sample", complete("sample", id=22, product_id=2, barcode="SMP-000002", status="returned",
                            checked_in_at=(NOW - timedelta(days=9)).isoformat())),
        ("sample", complete("sample", id=23, product_id=4, barcode="SMP-000003", status="in_studio",
                            checked_in_at=(NOW - timedelta(days=2, hours=5)).replace(tzinfo=None).isoformat())),
    ],
}


def fill_replica(store: LocalStore) -> None:
    """One feed page with every row, stored as a pull stores it."""
    changes = [{"entity": entity, "id": str(row["id"]), "op": "upsert", "version": 1, "audience": audience,
                "data": row} for audience, rows in FEED.items() for entity, row in rows]
    with store.replica.write() as conn:
        replica.set_scope(conn, list(FEED))
        plan = replica.pull_plan(conn)
        body = {"changes": changes, "cursor": 1, "has_more": False, "reset": False, "audiences": plan.audiences}
        replica.store_page(conn, plan, decode_page(orjson.dumps(body)))


@dataclass
class Core:
    """The parts of a client core the studio uses."""

    outbox: Outbox
    view: LocalView


@pytest.fixture
def store(tmp_path):
    opened = LocalStore.open(tmp_path / "data")
    fill_replica(opened)
    yield opened
    opened.close()


@pytest.fixture
def core(store):
    outbox = Outbox(store, clock=lambda: NOW)
    yield Core(outbox, LocalView(store, outbox))
    outbox.close()


@pytest.fixture
def session_folder(tmp_path) -> Path:
    return tmp_path / "session"


@pytest.fixture
def camera(tmp_path) -> Path:
    folder = tmp_path / "captures"
    folder.mkdir()
    return folder


@pytest.fixture
def ledger(store, session_folder):
    return CaptureLedger(store, session_folder)


def studio(core, ledger, roles=("photographer",), check_in_on_scan=True) -> StudioSession:
    return StudioSession(core, ledger, "chloe", roles, StudioOptions(check_in_on_scan=check_in_on_scan),
                         clock=lambda: NOW)


@pytest.fixture
def photographer(core, ledger):
    return studio(core, ledger)


def queued(core) -> list[tuple[str, dict]]:
    return [(m.name, m.args) for m in core.outbox.pending()]


def shoot(folder: Path, name: str, size: tuple[int, int] = (64, 48)) -> Capture:
    """A whole sRGB JPEG in the capture folder, as the hot folder hands it over."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", icc_profile=SRGB)
    path = folder / name
    path.write_bytes(out.getvalue())
    st = path.stat()
    return Capture(path, st.st_size, st.st_mtime_ns, st.st_ino, hashlib.sha256(out.getvalue()).hexdigest())


# --- the shot list -------------------------------------------------------------------------

def test_the_shot_list_puts_rejected_first_then_open_shot_approved_each_by_sku(photographer):
    lines = photographer.shot_list()
    assert [(line.status, line.sku) for line in lines] == [
        ("rejected", "CAP-000005"), ("open", "JKT-000001"), ("open", "TEE-000002"), ("shot", "SCK-000006"),
        ("approved", "BAG-000004")]
    cap = lines[0]
    assert (cap.shot_id, cap.name, cap.qc_comment) == (15, "Baseball Cap, Navy", "Background is grey, not white")


def test_progress_counts_the_angles_with_an_assigned_image(photographer):
    lines = {line.sku: line for line in photographer.shot_list()}
    jacket = lines["JKT-000001"]
    assert jacket.angles == ("front", "back", "side")
    assert jacket.covered == ("front",)  # the uploaded image without an angle does not count
    assert jacket.missing == ("back", "side")
    assert jacket.progress == "1 of 3 angles"
    assert lines["SCK-000006"].progress == "2 of 2 angles"
    assert lines["TEE-000002"].progress == "0 of 2 angles"
    assert lines["BAG-000004"].progress == "0 of 1 angle"


def test_the_shot_list_filters_by_status_and_searches_sku_and_name_in_any_case(photographer):
    assert [line.sku for line in photographer.shot_list("open")] == ["JKT-000001", "TEE-000002"]
    assert [line.sku for line in photographer.shot_list("rejected")] == ["CAP-000005"]
    assert [line.sku for line in photographer.shot_list(search="jacket")] == ["JKT-000001"]
    assert [line.sku for line in photographer.shot_list(search="tee-0")] == ["TEE-000002"]
    assert [line.sku for line in photographer.shot_list("approved", search="navy")] == []
    assert [line.sku for line in photographer.shot_list("all", search=" NAVY ")] == ["CAP-000005"]
    with pytest.raises(ValueError):
        photographer.shot_list("done")


# --- the active SKU ------------------------------------------------------------------------

def test_a_gtin_scan_makes_its_product_active_and_names_the_next_capture(photographer):
    verdict = photographer.scan(classify("4006381333931"))
    assert verdict.kind == "accept"
    assert verdict.words == "JKT-000001 Rain Jacket, Olive, L: next angle back."
    active = photographer.active
    assert (active.sku, active.name, active.still_needed) == ("JKT-000001", "Rain Jacket, Olive, L", ("back", "side"))
    assert active.shot.shot_id == 11
    assert photographer.next_angle() == "back"
    assert photographer.next_name() == "JKT-000001_back_01.jpg"
    assert photographer.next_name(".TIF") == "JKT-000001_back_01.tif"


def test_a_sku_scan_makes_its_product_active(photographer):
    verdict = photographer.scan(classify("tee-000002"))
    assert verdict.kind == "accept" and "TEE-000002" in verdict.words
    assert photographer.active.sku == "TEE-000002"
    assert photographer.next_angle() == "front"
    assert photographer.next_name() == "TEE-000002_front_01.jpg"


def test_a_product_not_on_the_shot_list_is_active_and_the_words_say_so(core, photographer):
    verdict = photographer.scan(classify("5901234123457"))
    assert verdict.kind == "accept" and "not on the shot list" in verdict.words
    assert photographer.active.shot is None and photographer.active.still_needed == ("front", "top")
    assert photographer.next_name() == "MUG-000003_front_01.jpg"
    assert queued(core) == []


def test_an_unknown_code_is_rejected_with_the_code_and_changes_nothing(core, photographer):
    photographer.scan(classify("JKT-000001"))
    verdict = photographer.scan(classify("XYZ-123"))
    assert verdict.kind == "reject" and "XYZ-123" in verdict.words
    verdict = photographer.scan(classify("4000000000037"))  # a valid GTIN the catalogue does not have
    assert verdict.kind == "reject" and "4000000000037" in verdict.words
    assert photographer.active.sku == "JKT-000001"
    assert queued(core) == []


# --- samples ---------------------------------------------------------------------------------

def test_a_sample_that_is_out_is_checked_in_by_its_scan_and_its_product_made_active(core, photographer):
    verdict = photographer.scan(classify("SMP-000002"))
    assert verdict.kind == "accept" and "SMP-000002" in verdict.words and "TEE-000002" in verdict.words
    assert photographer.active.sku == "TEE-000002"
    assert queued(core) == [("sample.check_in", {"barcode": "SMP-000002", "sku": "TEE-000002"})]
    photographer.scan(classify("SMP-000002"))  # it is in the studio now: not checked in twice
    assert len(queued(core)) == 1
    assert "SMP-000002" in [s.barcode for s in photographer.samples_in_studio(NOW)]


def test_a_sample_already_in_the_studio_only_makes_its_product_active(core, photographer):
    assert photographer.scan(classify("SMP-000001")).kind == "accept"
    assert photographer.active.sku == "JKT-000001"
    assert queued(core) == []


def test_without_check_in_on_scan_a_sample_scan_only_makes_its_product_active(core, ledger):
    session = studio(core, ledger, check_in_on_scan=False)
    assert session.scan(classify("SMP-000002")).kind == "accept"
    assert session.active.sku == "TEE-000002"
    assert queued(core) == []


def test_samples_in_the_studio_say_how_long_they_have_been_here(photographer):
    lines = photographer.samples_in_studio(NOW)
    assert [(s.barcode, s.sku, s.here_for) for s in lines] == [
        ("SMP-000003", "BAG-000004", "2 days"), ("SMP-000001", "JKT-000001", "3 h")]
    assert lines[1].name == "Rain Jacket, Olive, L"
    assert [s.here_for for s in photographer.samples_in_studio(NOW - timedelta(hours=3))] == ["2 days", "20 min"]
    assert [s.here_for for s in photographer.samples_in_studio(NOW - timedelta(hours=6))] == ["47 h", "0 min"]


def test_checking_out_a_sample_queues_it_and_it_leaves_the_list(core, photographer):
    verdict = photographer.check_out("SMP-000001")
    assert verdict.kind == "accept"
    assert queued(core) == [("sample.check_out", {"barcode": "SMP-000001"})]
    assert [s.barcode for s in photographer.samples_in_studio(NOW)] == ["SMP-000003"]
    again = photographer.check_out("SMP-000001")
    assert again.kind == "reject" and "not in the studio" in again.words
    unknown = photographer.check_out("SMP-999999")
    assert unknown.kind == "reject" and "SMP-999999" in unknown.words
    assert len(queued(core)) == 1


# --- captures --------------------------------------------------------------------------------

def test_captures_go_to_the_session_folder_under_each_next_angle(photographer, camera, session_folder):
    photographer.scan(classify("4006381333931"))
    first = shoot(camera, "DSC_0001.JPG")
    result = photographer.take(first)
    assert result.kind == "taken", result.words
    assert result.capture.path == session_folder / "JKT-000001_back_01.jpg"
    assert result.capture.path.read_bytes() and not first.path.exists()
    assert photographer.next_angle() == "side"
    assert photographer.next_name() == "JKT-000001_side_01.jpg"

    result = photographer.take(shoot(camera, "DSC_0002.JPG"))
    assert result.capture.path.name == "JKT-000001_side_01.jpg"
    assert photographer.active.taken == ("back", "side") and photographer.next_angle() is None
    result = photographer.take(shoot(camera, "DSC_0003.JPG"))  # every angle has one: an extra, without angle
    assert result.capture.path.name == "JKT-000001_01.jpg"
    assert sorted(p.name for p in camera.iterdir()) == []


def test_a_capture_below_the_products_minimum_size_is_held_where_it_is(photographer, camera, session_folder):
    photographer.scan(classify("TEE-000002"))
    capture = shoot(camera, "DSC_0010.JPG", size=(64, 48))
    result = photographer.take(capture)
    assert result.kind == "held" and result.capture is None
    assert "64 × 48" in result.words and "2000 × 2000" in result.words
    assert [f.code for f in result.findings] == ["too_small"]
    assert capture.path.exists()
    assert not session_folder.exists() or not any(session_folder.iterdir())
    assert photographer.next_angle() == "front"


def test_without_an_active_sku_a_capture_goes_to_the_unassigned_tray_and_can_be_assigned(
        photographer, camera, session_folder):
    assert photographer.active is None and photographer.next_name() is None
    result = photographer.take(shoot(camera, "DSC_0020.JPG"))
    assert result.kind == "unassigned" and "Unassigned" in result.words
    assert result.capture.path == session_folder / "Unassigned" / "DSC_0020.JPG"

    photographer.scan(classify("JKT-000001"))
    moved = photographer.reassign(result.capture.id, "JKT-000001", "back")
    assert moved.kind == "taken" and moved.capture.path == session_folder / "JKT-000001_back_01.jpg"
    assert photographer.next_angle() == "side"
    refused = photographer.reassign(999, "JKT-000001", "side")
    assert refused.kind == "failed" and "999" not in refused.words


def test_a_capture_changed_after_it_was_handed_over_is_not_taken_and_stays(photographer, camera, session_folder):
    photographer.scan(classify("JKT-000001"))
    capture = shoot(camera, "DSC_0030.JPG")
    shoot(camera, "DSC_0030.JPG", size=(80, 60))  # written again since
    result = photographer.take(capture)
    assert result.kind == "failed" and "DSC_0030.JPG" in result.words and "changed" not in result.words
    assert capture.path.exists() and not (session_folder / "JKT-000001_back_01.jpg").exists()
    assert photographer.next_name() == "JKT-000001_back_01.jpg"


# --- shot review -----------------------------------------------------------------------------

def test_a_supervisor_approves_and_rejects_shots_through_the_outbox(core, ledger):
    supervisor = studio(core, ledger, roles=("supervisor",))
    assert [line.sku for line in supervisor.waiting_for_review()] == ["SCK-000006"]
    assert supervisor.approve(16).kind == "accept"
    assert supervisor.waiting_for_review() == []  # the queued review is laid over the shot list
    verdict = supervisor.reject(11, "  Sleeve is creased on the back  ")
    assert verdict.kind == "accept"
    assert queued(core) == [("shot.qc", {"shot": 16, "decision": "approve", "comment": ""}),
                            ("shot.qc", {"shot": 11, "decision": "reject",
                                         "comment": "Sleeve is creased on the back"})]
    jacket = next(line for line in supervisor.shot_list() if line.shot_id == 11)
    assert (jacket.status, jacket.qc_comment) == ("rejected", "Sleeve is creased on the back")


def test_a_rejection_needs_a_comment_and_a_review_needs_a_supervisor(core, ledger, photographer):
    supervisor = studio(core, ledger, roles=("supervisor",))
    blank = supervisor.reject(16, "   ")
    assert blank.kind == "reject" and "comment" in blank.words
    refused = photographer.approve(16)
    assert refused.kind == "reject" and "supervisor" in refused.words
    assert photographer.reject(16, "Too dark").kind == "reject"
    assert supervisor.approve(999).kind == "reject"
    assert queued(core) == []
