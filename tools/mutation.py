"""Mutation testing of the helper package, one module at a time (``make mutation``).

mutmut (configured in ``pyproject.toml``, ``[tool.mutmut]``) copies ``utils/`` into
``mutants/``, makes many small changes to it (a ``<`` turned into ``<=``, a constant
changed, an argument dropped) and runs, for each change, the unit tests that call the
changed function. A test failing "kills" the mutant; a mutant that survives every test
is a change no test notices. This script runs mutmut module by module, then writes

- ``_build/mutation.json``: per module, the counts, the score and the wall time,
  and the surviving mutants with their diffs;
- ``_build/mutation.md``: the same as a table, then each survivor's diff.

The score is ``killed / (total - equivalent)``: a mutant listed in
``tools/mutation_equivalent.txt`` changes no behaviour a reader can observe (say a
default that is overwritten before use), so no test can kill it. Each line there is
``function | mutated line | reason``, matched on the function and the changed line
rather than on mutmut's mutant number (which shifts when the module changes).
Timeouts count as killed (the mutant made the tests hang), as mutmut does. mutmut leaves
out the tests marked ``slow`` (they run Python in a subprocess); ``--slow`` runs them on each
survivor, applied to a copy of the project, and a mutant they fail on counts as killed
(verdicts kept in ``_build/mutation-slow.json``, per mutant and diff).

    python -m tools.mutation                      # the default modules
    python -m tools.mutation utils/devices.py     # one module
    python -m tools.mutation --report-only        # re-read mutants/ without running
    python -m tools.mutation --resume             # finish an interrupted run
    python -m tools.mutation --survivors          # after adding tests: re-test survivors and the unfinished
    python -m tools.mutation --sample 500 M.py    # a random sample of a large module: a score with a 95% interval
    python -m tools.mutation --report-only --slow # run the slow tests on the survivors (mutmut leaves them out)

It is slow (minutes per module on two cores) and is not part of ``make test``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODULES = [
    "utils/devices.py",
    "utils/data.py",
    "utils/training.py",
    "utils/explain/tabular.py",
    "utils/transformer.py",
    "utils/explain/evaluation.py",
    "utils/explain/saliency.py",
]
EQUIVALENT_FILE = ROOT / "tools" / "mutation_equivalent.txt"
# Verdicts of the slow (subprocess) tests on mutants mutmut saw survive (--slow): mutant -> its diff, killed
SLOW_VERDICTS = ROOT / "_build" / "mutation-slow.json"
# What a copy of the project for the slow tests leaves out (environments, caches, build outputs)
COPY_IGNORE = (".git", ".venv", ".lowest", "mutants", "_build", "build", "node_modules", ".site-assets",
               "*.egg-info", "__pycache__")
KILLED = {"killed", "timeout", "caught by type check"}


def module_prefix(path: str) -> str:
    """``utils/explain/tabular.py`` -> ``utils.explain.tabular.`` (mutmut's mutant-name prefix)."""
    if not path.endswith(".py"):
        raise ValueError(f"module {path!r}: expected a path to a .py file under utils/.")
    return path[: -len(".py")].replace("/", ".") + "."


def function_of(mutant_name: str) -> str:
    """``utils.data.x_load_co2__mutmut_3`` -> ``load_co2``; methods as ``Class.method``."""
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    function, class_name = orig_function_and_class_names_from_key(mutant_name)
    return f"{class_name}.{function}" if class_name else function


def changed_lines(diff: str) -> List[str]:
    """The added lines of a unified diff, stripped (what the mutant changed the code to)."""
    return [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]


def read_equivalents(path: Path = EQUIVALENT_FILE) -> List[Tuple[str, str, str]]:
    """``(function, mutated line, reason)`` triples from the equivalent-mutant list."""
    entries = []
    if not path.exists():
        return entries
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split(" | ")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{path.name}:{number}: expected 'function | mutated line | reason', got {line!r}.")
        entries.append(tuple(parts))
    return entries


def mutmut_cli(args: List[str]) -> None:
    """mutmut's command line, with its function trampolines keeping their signatures.

    mutmut replaces each mutated function by a ``(*args, **kwargs)`` trampoline. Keras
    reads a layer's constructor arguments with ``inspect.getfullargspec`` (to rebuild the
    layer from its config), which does not follow ``__wrapped__`` and fails on such a
    trampoline; it does honour ``__signature__``, which is set here on constructors to the
    original signature.
    """
    import inspect

    from mutmut.__main__ import cli
    from mutmut.mutation import trampoline

    wrap_in_trampoline = trampoline.wrap_in_trampoline

    def wrap_keeping_signature(mutants_dict, is_classmethod=False):
        decorate = wrap_in_trampoline(mutants_dict, is_classmethod)

        def decorate_keeping_signature(function):
            wrapper = decorate(function)
            if function.__name__ == "__init__":  # not every method: functools.wraps of a bound
                wrapper.__signature__ = inspect.signature(function)  # method would copy it, self and all
            return wrapper

        return decorate_keeping_signature

    trampoline.wrap_in_trampoline = wrap_keeping_signature
    cli(args=args, prog_name="mutmut")


def unfinished_mutants(path: str, survivors: bool = False) -> List[str]:
    """Mutants of one module that an interrupted run left without a verdict (and, with
    ``survivors``, those that survived or had no tests: to re-test them after adding tests)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    data = SourceFileMutationData(path=Path(path))
    data.load()
    prefix = module_prefix(path)
    again = {"survived", "no tests"} if survivors else set()
    return sorted(
        name for name, code in data.exit_code_by_key.items()
        if name.startswith(prefix) and (code is None or status_by_exit_code[code] in again)
    )


def smallest_function(path: str) -> str:
    """A mutmut name pattern for the mutants of the module's function with the fewest mutants."""
    from collections import Counter

    from mutmut.mutation.data import SourceFileMutationData

    data = SourceFileMutationData(path=Path(path))
    data.load()
    counts = Counter(name.rsplit("__mutmut_", 1)[0] for name in data.exit_code_by_key if name.startswith(module_prefix(path)))
    if not counts:
        raise SystemExit(f"{path}: no mutants on record; run it in full first.")
    return min(counts, key=lambda function: (counts[function], function)) + "__mutmut_*"


def run_module(path: str, workers: int, names: List[str] | None = None) -> float:
    """Run mutmut on the mutants of one module (or only ``names``); return the wall time in seconds."""
    start = time.perf_counter()
    command = [sys.executable, "-c", "import sys; from tools.mutation import mutmut_cli; mutmut_cli(sys.argv[1:])",
               "run", "--max-children", str(workers), *(names or [module_prefix(path) + "*"])]
    log = ROOT / "_build" / f"mutation-{module_prefix(path)[:-1]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"    progress: {log.relative_to(ROOT)}", flush=True)
    with open(log, "w", encoding="utf-8") as stream:
        returncode = subprocess.run(command, cwd=ROOT, stdout=stream, stderr=subprocess.STDOUT, text=True).returncode
    elapsed = time.perf_counter() - start
    # mutmut's progress spinner is a stream of carriage returns: show only its last lines.
    tail = log.read_text(encoding="utf-8", errors="replace").replace("\r", "\n").strip().splitlines()[-6:]
    print("\n".join("    " + line for line in tail))
    if returncode != 0:
        raise SystemExit(f"mutmut failed on {path} (exit code {returncode}); see {log.relative_to(ROOT)}.")
    return elapsed


def _function_node(tree: ast.Module, function: str) -> ast.AST:
    """The definition of ``function`` ("name" or "Class.name") at the top of a module."""
    scope: List[ast.AST] = tree.body
    node = None
    for part in function.split("."):
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == part), None)
        if node is None:
            raise ValueError(f"no definition of {function} in the module.")
        scope = node.body
    return node


def mutated_source(source: str, function: str, diff: str) -> str:
    """``source`` with one mutant's change (its ``diff``, as mutmut prints it) made inside ``function``."""
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    node = _function_node(ast.parse(source), function)
    lines = source.splitlines(keepends=True)
    start, end = node.lineno - 1, node.end_lineno
    body = "".join(lines[start:end])
    old, new = "".join(line + "\n" for line in removed), "".join(line + "\n" for line in added)
    if not removed or body.count(old) != 1:
        raise ValueError(f"the lines the mutant changes are not found once in {function}: {removed!r}.")
    return "".join(lines[:start]) + body.replace(old, new, 1) + "".join(lines[end:])


def slow_tests_of(path: str) -> List[str]:
    """The test files whose slow tests judge a module: tests/test_<name>.py, else every file mutmut runs."""
    own = ROOT / "tests" / f"test_{Path(path).stem}.py"
    if own.exists():
        return [str(own.relative_to(ROOT))]
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["pytest_add_cli_args_test_selection"])


def slow_test_kills(path: str, function: str, diff: str, tests: List[str]) -> bool:
    """Whether the slow tests of ``tests`` fail on a copy of the project with the mutant applied.

    mutmut leaves out the tests marked ``slow`` (they run Python in a subprocess, where it cannot
    see which functions are called); this runs them on the mutant itself.
    """
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "book"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*COPY_IGNORE))
        target = copy / path
        target.write_text(mutated_source(target.read_text(encoding="utf-8"), function, diff), encoding="utf-8")
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "slow",
                                 *tests], cwd=copy, capture_output=True, text=True, timeout=3600)
    if result.returncode not in (0, 1, 5):  # 5: no slow test in these files, so nothing to kill the mutant
        raise SystemExit(f"the slow tests of {tests} could not judge a mutant of {function} (pytest exit code "
                         f"{result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.returncode == 1


def read_slow_verdicts() -> Dict[str, Dict]:
    return json.loads(SLOW_VERDICTS.read_text(encoding="utf-8")) if SLOW_VERDICTS.exists() else {}


def judge_survivors_by_slow_tests(path: str, result: Dict) -> int:
    """Run the slow tests on each survivor of ``result`` with no stored verdict for its diff; return how many ran."""
    verdicts = read_slow_verdicts()
    tests = slow_tests_of(path)
    ran = 0
    for survivor in result["survivors"]:
        if survivor["status"] not in ("survived", "no tests"):
            continue
        stored = verdicts.get(survivor["mutant"])
        if stored is not None and stored["diff"] == survivor["diff"]:
            continue
        killed = slow_test_kills(path, survivor["function"], survivor["diff"], tests)
        print(f"    slow tests {'kill' if killed else 'pass'}: {survivor['mutant']}", flush=True)
        verdicts[survivor["mutant"]] = {"diff": survivor["diff"], "killed": killed}
        SLOW_VERDICTS.parent.mkdir(parents=True, exist_ok=True)
        SLOW_VERDICTS.write_text(json.dumps(verdicts, indent=1) + "\n", encoding="utf-8")
        ran += 1
    return ran


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> Tuple[float, float]:
    """95% Wilson score interval of a proportion (for a score measured on a random sample of mutants)."""
    if trials <= 0:
        raise ValueError(f"trials must be positive; got {trials}.")
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * ((p * (1 - p) / trials + z * z / (4 * trials * trials)) ** 0.5) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def all_mutants(path: str) -> List[str]:
    """Every mutant name of one module, sorted."""
    from mutmut.mutation.data import SourceFileMutationData

    data = SourceFileMutationData(path=Path(path))
    data.load()
    return sorted(name for name in data.exit_code_by_key if name.startswith(module_prefix(path)))


def summarize(path: str, equivalents: List[Tuple[str, str, str]], only: List[str] | None = None) -> Dict:
    """Counts, score and survivors of one module (or of the mutants in ``only``, a random sample),
    from mutmut's ``mutants/<path>.meta``."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    data = SourceFileMutationData(path=Path(path))
    data.load()
    prefix = module_prefix(path)
    counts = {"killed": 0, "survived": 0, "timeout": 0, "no tests": 0, "other": 0}
    survivors, equivalent = [], []
    used = set()
    verdicts = read_slow_verdicts()
    killed_by_slow_tests = 0
    chosen = None if only is None else set(only)
    for name, exit_code in sorted(data.exit_code_by_key.items()):
        if not name.startswith(prefix) or (chosen is not None and name not in chosen):
            continue
        status = status_by_exit_code[exit_code]
        if status in ("killed", "caught by type check"):
            counts["killed"] += 1
            continue
        if status == "timeout":
            counts["timeout"] += 1
            continue
        if status not in ("survived", "no tests"):
            counts["other"] += 1  # not checked (an interrupted run), suspicious, segfault
            if status == "not checked":
                continue
        diff = get_diff_for_mutant(name, path=path)
        function = function_of(name)
        lines = changed_lines(diff)
        match = next(
            (i for i, (f, line, _) in enumerate(equivalents) if f == function and line in lines), None
        )
        entry = {"mutant": name, "function": function, "status": status, "diff": diff}
        verdict = verdicts.get(name)
        if status in ("survived", "no tests") and verdict is not None and verdict["diff"] == diff and verdict["killed"]:
            killed_by_slow_tests += 1  # mutmut runs no slow test; they were run on this mutant (--slow)
            continue
        if match is not None and status in ("survived", "no tests"):
            used.add(match)
            entry["reason"] = equivalents[match][2]
            equivalent.append(entry)
        else:
            if status in ("survived", "no tests"):
                counts[status] += 1
            survivors.append(entry)
    total = sum(counts.values()) + len(equivalent) + killed_by_slow_tests
    killed = counts["killed"] + counts["timeout"] + killed_by_slow_tests
    scored = total - len(equivalent)
    sample = {}
    if only is not None:
        low, high = wilson_interval(killed, scored) if scored else (None, None)
        sample = {"population": len(all_mutants(path)), "interval": [round(low, 4), round(high, 4)]}
    return {
        "module": path,
        **sample,
        "total": total,
        "killed": counts["killed"],
        "timeout": counts["timeout"],
        "killed_by_slow_tests": killed_by_slow_tests,
        "survived": counts["survived"],
        "no_tests": counts["no tests"],
        "other": counts["other"],
        "equivalent": len(equivalent),
        "score": round(killed / scored, 4) if scored else None,
        "survivors": survivors,
        "equivalents": equivalent,
        "equivalents_used": sorted(used),
    }


def markdown(results: List[Dict]) -> str:
    """The per-module table, then every survivor's diff."""
    lines = [
        "| module | mutants | killed | timeout | killed by slow tests | survived | no tests | not run or other "
        "| equivalent | score | time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        score = "n/a" if r["score"] is None else f"{100 * r['score']:.1f}%"
        seconds = r.get("seconds")
        duration = "" if seconds is None else f"{seconds / 60:.1f} min"
        mutants = str(r["total"])
        if "population" in r:  # a random sample: the interval is where the whole module's score lies (95%)
            mutants = f"{r['total']} sampled of {r['population']}"
            score += f" (95%: {100 * r['interval'][0]:.1f}-{100 * r['interval'][1]:.1f}%)"
        lines.append(
            f"| {r['module']} | {mutants} | {r['killed']} | {r['timeout']} | {r.get('killed_by_slow_tests', 0)} "
            f"| {r['survived']} "
            f"| {r['no_tests']} | {r['other']} | {r['equivalent']} | {score} | {duration} |"
        )
    for r in results:
        if r["survivors"]:
            lines += ["", f"## Surviving mutants of {r['module']}", ""]
            for s in r["survivors"]:
                lines += [f"### {s['mutant']} ({s['status']})", "", "```diff", s["diff"].strip(), "```", ""]
    return "\n".join(lines) + "\n"


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=DEFAULT_MODULES, help="paths of utils modules")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("MUTATION_WORKERS", os.cpu_count() or 1)),
                        help="mutants tested at once (default: one per core, or MUTATION_WORKERS)")
    parser.add_argument("--report-only", action="store_true", help="summarize mutants/ without running mutmut")
    parser.add_argument("--resume", action="store_true",
                        help="test only the mutants an interrupted run left unchecked (times add up)")
    parser.add_argument("--survivors", action="store_true",
                        help="like --resume, and also re-test the mutants that survived or had no tests")
    parser.add_argument("--sample", type=int, default=0,
                        help="test a random sample of this many mutants per module (a score with a 95%% interval)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --sample draw (default 0)")
    parser.add_argument("--slow", action="store_true",
                        help="run the slow (subprocess) tests on each survivor, which mutmut leaves out")
    parser.add_argument("--output", type=Path, default=ROOT / "_build" / "mutation.json")
    args = parser.parse_args(argv)

    os.chdir(ROOT)  # mutmut reads pyproject.toml and mutants/ from the current directory
    equivalents = read_equivalents()
    previous = {}
    if args.output.exists():
        previous = {r["module"]: r for r in json.loads(args.output.read_text(encoding="utf-8"))["modules"]}
    for path in args.modules:
        seconds = previous.get(path, {}).get("seconds")
        sample = previous.get(path, {}).get("sample") if (args.resume or args.survivors or args.report_only) else None
        if args.sample:
            import random

            print(f"mutmut: {path}, a sample of {args.sample} mutants (seed {args.seed})", flush=True)
            seconds = run_module(path, args.workers, [smallest_function(path)])  # generates the mutants
            names = all_mutants(path)
            sample = sorted(random.Random(args.seed).sample(names, min(args.sample, len(names))))
            seconds = round(seconds + run_module(path, args.workers, sample), 1)
        elif args.resume or args.survivors:
            if args.survivors:
                # mutmut regenerates the mutants of functions whose code changed (and finds new
                # tests) at the start of a run: run it on the smallest function first, so that the
                # list of mutants to re-test is read from the regenerated module.
                seconds = round((seconds or 0.0) + run_module(path, args.workers, [smallest_function(path)]), 1)
            names = unfinished_mutants(path, survivors=args.survivors)
            if sample is not None:
                names = sorted(set(names) & set(sample))
            print(f"mutmut: {path}, {len(names)} mutants to (re)test", flush=True)
            if names:
                seconds = round((seconds or 0.0) + run_module(path, args.workers, names), 1)
        elif not args.report_only:
            print(f"mutmut: {path}", flush=True)
            seconds = round(run_module(path, args.workers), 1)
        result = summarize(path, equivalents, only=sample)
        if args.slow and judge_survivors_by_slow_tests(path, result):
            result = summarize(path, equivalents, only=sample)
        result["seconds"] = seconds
        if sample is not None:
            result["sample"] = sample
        previous[path] = result
    results = [previous[path] for path in sorted(previous, key=lambda p: (p not in DEFAULT_MODULES, p))]
    used = {i for r in results for i in r.pop("equivalents_used", [])}
    if set(DEFAULT_MODULES) <= set(args.modules):  # an entry no module matched is out of date
        for i, (function, line, _) in enumerate(equivalents):
            if i not in used:
                print(f"note: equivalent entry not matched by any surviving mutant: {function} | {line}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"modules": results}, indent=1) + "\n", encoding="utf-8")
    table = markdown(results)
    args.output.with_suffix(".md").write_text(table, encoding="utf-8")
    print(table.split("\n\n## ")[0])
    print(f"Written: {args.output.relative_to(ROOT)} and {args.output.with_suffix('.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
