"""The packing rules without a window: the box fit rule, the weight check and the command sheet."""

import re

from desktop_app.workflows.packing_fit import Box, Item, check_weight, fits, smallest_fitting
from desktop_app.workflows.packing_sheet import command_sheet
from scanners.classify import classify
from scanners.codes import BenchCommand

S = Box("S", "Small", 250, 175, 100, 120, 5_000)
M = Box("M", "Medium", 350, 250, 150, 220, 10_000)
L = Box("L", "Large", 450, 350, 250, 380, 20_000)


def test_the_smallest_box_that_fits_every_item_their_volume_and_their_weight_is_suggested():
    phone = Item(160, 80, 40, 300, 1)
    assert smallest_fitting([L, M, S], [phone]) == S
    # A bottle 260 mm long stands in no small carton (its longest side is 250), however light.
    assert smallest_fitting([S, M, L], [Item(80, 80, 260, 250, 1)]) == M
    # Eight phones: 4.1 l of goods in a 4.4 l carton passes the sides but not the 80% fill.
    assert not fits(S, [Item(160, 80, 40, 300, 8)]) and fits(M, [Item(160, 80, 40, 300, 8)])
    # Heavy and small: the carton's limit decides.
    assert smallest_fitting([S, M, L], [Item(100, 100, 50, 3_000, 2)]) == M
    assert smallest_fitting([S, M], [Item(500, 100, 100, 500, 1)]) is None  # longer than any carton


def test_a_weight_is_within_a_share_of_what_it_should_weigh_but_never_closer_than_the_minimum():
    assert check_weight(1_000, 1_090, 10, 50).within
    assert not check_weight(1_000, 1_120, 10, 50).within
    light = check_weight(200, 240, 10, 50)  # 10% would be 20 g, below a scale's noise on a light parcel
    assert light.tolerance_g == 50 and light.within and light.difference_g == 40


def test_every_barcode_of_the_command_sheet_reads_as_the_command_it_says():
    zpl = command_sheet([("S", "Small carton"), ("M", "Medium^carton")], "Packing bench",
                        [("close", "Close the parcel"), ("parcel", "Next parcel")]).decode()
    codes = re.findall(r"\^BCN[^\^]*\^FD([^\^]*)\^FS", zpl)
    assert [classify(c) for c in codes] == [BenchCommand("box", "S"), BenchCommand("box", "M"),
                                            BenchCommand("close"), BenchCommand("parcel")]
    assert "Medium carton" in zpl  # a ^ in a name would have started a ZPL command
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
