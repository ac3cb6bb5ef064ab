"""CPU tests of bench/stall_summary.py on small source-page CSVs."""
import csv
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stall_summary  # noqa: E402

HEADER = ["Address", "Source", "Warp Stall Sampling (All Samples)",
          "Warp Stall Sampling (Not-issued Samples)", "stall_long_sb", "stall_wait",
          "stall_long_sb (Not Issued)"]
ROWS = [
    ["0x7f00", "MOV R8, UR11", "10", "5", "0", "10", "0"],
    ["0x7f10", "SYNCS.PHASECHK.TRANS64.TRYWAIT P0, [UR6], R8", "20", "1", "0", "20", "0"],
    ["0x7f20", "@!P0  BRA 0x7f90", "1,200", "900", "1,150", "50", "900"],
    ["0x7f30", "HGMMA.SP.64x80x32.F32.BF16 R64, gdesc[UR16], R64, R112, 0x0", "70", "-", "-", "70", "0"],
]


def write(tmp_path, rows, header=HEADER, kernel=True):
    path = tmp_path / "src.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if kernel:
            w.writerow(["Kernel Name", "k_ssmm_2_wide", ""])
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def test_reasons_top_instructions_and_context(tmp_path):
    out = stall_summary.summarise(*stall_summary.read(write(tmp_path, ROWS)), top=2)
    # 1,150 long scoreboard + 150 wait samples; "Not Issued" columns are not reasons.
    assert out[0] == "warp samples: 1300; by stall reason:"
    assert out[1].split() == ["stall_long_sb", "1150", "88.5%"]
    assert out[2].split() == ["stall_wait", "150", "11.5%"]
    top = out.index("top instructions (address low bits, SASS, samples, share):")
    assert out[top + 1].split()[:3] == ["x7f20", "@!P0", "BRA"]
    assert out[top + 1].split()[-2:] == ["1200", "92.3%"]
    assert "HGMMA" in out[top + 2] and len(out) == top + 3 + 1 + 4
    assert [line.split()[0] for line in out[top + 4:]] == ["x7f00", "x7f10", "x7f20", "x7f30"]


def test_a_file_without_the_source_header_is_refused(tmp_path, capsys):
    path = write(tmp_path, [["1", "2"]], header=["Metric", "Value"])
    assert stall_summary.main([path]) == 1
    assert "no header with Address, Source" in capsys.readouterr().err


def test_a_report_without_samples_is_refused(tmp_path):
    rows = [r[:2] + ["0", "0", "0", "0", "0"] for r in ROWS]
    with pytest.raises(stall_summary.SummaryError, match="no warp samples"):
        stall_summary.summarise(*stall_summary.read(write(tmp_path, rows, kernel=False)))


@pytest.mark.parametrize("cell", ["many", "nan", "-5", "1e300"])
def test_a_count_that_is_not_one_is_refused(tmp_path, capsys, cell):
    rows = [ROWS[0][:2] + [cell] + ROWS[0][3:]] + ROWS[1:]
    assert stall_summary.main([write(tmp_path, rows)]) == 1
    assert "sample count" in capsys.readouterr().err


def test_a_missing_file_is_an_error(tmp_path, capsys):
    assert stall_summary.main([str(tmp_path / "none.csv")]) == 1
    assert "error:" in capsys.readouterr().err
