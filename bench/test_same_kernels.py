"""CPU tests of bench/same_kernels.py: renamed kernels match, changed ones do not."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import same_kernels  # noqa: E402

KERNEL = """.visible .entry {name}(
\t.param .u64 {name}_param_0
)
{{
$L__BB{b}_1:
\tadd.s32 %r1, %r1, {k};
\tbra.uni $L__BB{b}_1;
}}
\t// .globl\t{next}
"""


def bundle(tmp_path, label, kernels):
    d = tmp_path / label
    d.mkdir()
    text = ".version 8.5\n.target sm_90a\n"
    names = [n for n, _ in kernels] + ["end"]
    for i, (name, k) in enumerate(kernels):
        text += KERNEL.format(name=name, b=i, k=k, next=names[i + 1])
    (d / "kernels.ptx").write_text(text)
    return str(d)


def test_renamed_kernels_match_and_changed_ones_do_not(tmp_path, capsys):
    old = bundle(tmp_path, "k11", [("m_ssmm_0_wide", 1), ("m_ssmm_0_split", 2)])
    new = bundle(tmp_path, "new", [("m_ssmm_0_split", 2), ("m_ssmm_0_wide_low", 1),
                                   ("m_ssmm_0_wide", 3)])
    assert same_kernels.main([new, old]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["m_ssmm_0_split: k11:m_ssmm_0_split",
                   "m_ssmm_0_wide_low: k11:m_ssmm_0_wide",
                   "m_ssmm_0_wide: NEW"]


def test_last_kernel_of_a_file_matches_one_followed_by_others(tmp_path, capsys):
    old = bundle(tmp_path, "k12", [("m_ssmm_0_wide", 1), ("m_ssmm_0_split", 2)])
    (tmp_path / "k12" / "kernels.ptx").write_text(
        (tmp_path / "k12" / "kernels.ptx").read_text() + "\n\n")
    new = bundle(tmp_path, "new", [("m_ssmm_0_split", 2), ("m_ssmm_0_wide_low", 1)])
    new_text = (tmp_path / "new" / "kernels.ptx").read_text()
    (tmp_path / "new" / "kernels.ptx").write_text(new_text.rstrip().rsplit("\n", 1)[0])
    assert same_kernels.main([new, old]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "m_ssmm_0_wide_low: k12:m_ssmm_0_wide"


def test_every_kernel_matched_is_success_across_bundles(tmp_path, capsys):
    a = bundle(tmp_path, "a", [("x_wide", 1)])
    b = bundle(tmp_path, "b", [("y_persistent", 3)])
    new = bundle(tmp_path, "new", [("x_wide_low", 1), ("x_wide", 3)])
    assert same_kernels.main([new, a, b]) == 0
    assert capsys.readouterr().out.splitlines() == ["x_wide_low: a:x_wide", "x_wide: b:y_persistent"]


def test_bad_input(tmp_path, capsys):
    assert same_kernels.main([str(tmp_path)]) == 2
    assert same_kernels.main([str(tmp_path / "missing"), str(tmp_path)]) == 2
    assert "same_kernels:" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "kernels.ptx").write_text(".version 8.5\n")
    assert same_kernels.main([str(empty), str(empty)]) == 1  # no kernel: nothing matched
    (empty / "kernels.ptx").write_bytes(b"\xff\xfe")
    assert same_kernels.main([str(empty), str(empty)]) == 2
