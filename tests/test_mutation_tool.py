"""tools/mutation.py: the parts of `make mutation` that do not need a mutmut run."""

import pytest

from tools import mutation


def test_module_prefix_is_mutmuts_mutant_name_prefix():
    assert mutation.module_prefix("utils/devices.py") == "utils.devices."
    assert mutation.module_prefix("utils/explain/tabular.py") == "utils.explain.tabular."
    with pytest.raises(ValueError, match="expected a path to a .py file"):
        mutation.module_prefix("utils.devices")


def test_function_of_names_functions_and_methods():
    assert mutation.function_of("utils.data.x_load_co2__mutmut_3") == "load_co2"
    assert mutation.function_of("utils.devices.xǁAcceleratorInfoǁdescribe__mutmut_1") == "AcceleratorInfo.describe"


def test_changed_lines_are_the_added_lines_of_a_diff():
    diff = "--- a.py\n+++ a.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 2\n"
    assert mutation.changed_lines(diff) == ["return 2"]


def test_equivalent_entries_need_three_fields(tmp_path):
    listing = tmp_path / "equivalent.txt"
    listing.write_text("# comment\n\nf | return 2 | same value\n", encoding="utf-8")
    assert mutation.read_equivalents(listing) == [("f", "return 2", "same value")]
    listing.write_text("f | return 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="equivalent.txt:1: expected 'function | mutated line | reason'"):
        mutation.read_equivalents(listing)
    assert mutation.read_equivalents(tmp_path / "missing.txt") == []


def test_the_listed_equivalent_mutants_parse():
    for function, line, reason in mutation.read_equivalents():
        assert function and line and reason


def test_markdown_table_has_one_row_per_module_and_lists_survivors():
    result = {"module": "utils/x.py", "total": 10, "killed": 8, "timeout": 1, "survived": 1, "no_tests": 0,
              "other": 0, "equivalent": 0, "score": 0.9, "seconds": 90.0,
              "survivors": [{"mutant": "utils.x.x_f__mutmut_1", "status": "survived", "diff": "+    return 2"}]}
    text = mutation.markdown([result])
    assert "| utils/x.py | 10 | 8 | 1 | 0 | 1 | 0 | 0 | 0 | 90.0% | 1.5 min |" in text
    assert "### utils.x.x_f__mutmut_1 (survived)" in text


@pytest.mark.parametrize("killed, total", [(0, 10), (10, 10), (95, 100), (467, 500)])
def test_wilson_interval_equals_statsmodels(killed, total):
    from statsmodels.stats.proportion import proportion_confint

    low, high = mutation.wilson_interval(killed, total)
    expected = proportion_confint(killed, total, alpha=0.05, method="wilson")
    assert (low, high) == (pytest.approx(expected[0], abs=1e-3), pytest.approx(expected[1], abs=1e-3))
    with pytest.raises(ValueError, match="^trials must be positive; got 0.$"):
        mutation.wilson_interval(0, 0)


def test_markdown_table_marks_a_sampled_module_and_its_interval():
    result = {"module": "utils/x.py", "population": 1500, "interval": [0.9, 0.96], "total": 500, "killed": 460,
              "timeout": 0, "survived": 30, "no_tests": 0, "other": 0, "equivalent": 10, "score": 0.9388,
              "seconds": 600.0, "survivors": []}
    text = mutation.markdown([result])
    assert "| utils/x.py | 500 sampled of 1500 | 460 | 0 | 0 | 30 | 0 | 0 | 10 | 93.9% (95%: 90.0-96.0%) | 10.0 min |" in text


MODULE = """def f(x):
    return x + 1


class C:
    def f(self, x):
        return x + 1

    def g(self):
        return [
            1,
        ]
"""


def test_a_mutant_is_applied_inside_its_own_function():
    diff = "--- m.py\n+++ m.py\n@@ -1,2 +1,2 @@\n     def f(self, x):\n-        return x + 1\n+        return x - 1\n"
    changed = mutation.mutated_source(MODULE, "C.f", diff)
    assert changed == MODULE.replace("        return x + 1", "        return x - 1")
    top = "@@ -1,2 +1,2 @@\n def f(x):\n-    return x + 1\n+    return x + 2\n"
    assert mutation.mutated_source(MODULE, "f", top) == MODULE.replace("    return x + 1\n\n\nclass", "    return x + 2\n\n\nclass")
    several = "@@ -1,3 +1,2 @@\n-        return [\n-            1,\n+        return [\n+            2,\n"
    assert "            2,\n" in mutation.mutated_source(MODULE, "C.g", several)
    with pytest.raises(ValueError, match="^no definition of C.h in the module.$"):
        mutation.mutated_source(MODULE, "C.h", diff)
    with pytest.raises(ValueError, match="the lines the mutant changes are not found once in C.g"):
        mutation.mutated_source(MODULE, "C.g", diff)


def test_slow_tests_of_a_module_are_its_own_test_file():
    assert mutation.slow_tests_of("utils/explain/saliency.py") == ["tests/test_saliency.py"]
    assert "tests/test_explain.py" in mutation.slow_tests_of("utils/explain/tabular.py")  # no test_tabular.py


def test_slow_verdicts_count_as_kills_only_for_the_same_diff(tmp_path, monkeypatch):
    monkeypatch.setattr(mutation, "SLOW_VERDICTS", tmp_path / "slow.json")
    assert mutation.read_slow_verdicts() == {}
    (tmp_path / "slow.json").write_text('{"m": {"diff": "+ x", "killed": true}}', encoding="utf-8")
    assert mutation.read_slow_verdicts() == {"m": {"diff": "+ x", "killed": True}}
