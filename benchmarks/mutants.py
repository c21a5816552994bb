"""`make mutants`: planted bugs the tests must catch, one at a time, each in a copy of the project.

Each mutant is a small edit at a named place where a realistic bug would change what a report says (clustering,
the family level, point-in-time cut-offs, revenue formulas, the verdict rule, interval methods, the out-of-time
split, projections, mapping dates and filters, propensity weights, the export date, lead-time gatekeeping). For
each, the tracked files are copied to a temporary folder, the edit is applied there (it must match exactly once,
so a mutant whose place has moved says so instead of passing), and the mutant's tests run on the copy: it is
killed when a test fails. Prints a table of killed and survived and exits 1 on any survivor or stale mutant.

    python -m benchmarks.mutants [--only NAME ...] [--workers 2]

A new statistical rule brings its mutant: add a `Mutant` to MUTANTS with the smallest edit that breaks the rule
and the tests that should notice (docs/contributing.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # the file the edit is made in, from the project's root
    before: str  # text that occurs exactly once in it
    after: str
    tests: tuple[str, ...]  # pytest arguments: the tests that must fail


MUTANTS = (
    Mutant(
        "forecast fitted on the quarter it forecasts",
        "workbench/judge/forecast.py",
        'known = history.loc[history["end_date"] <= origin]',
        'known = history.loc[history["end_date"] <= origin + pd.DateOffset(months=PERIOD_MONTHS)]',
        ("tests/test_forecast.py",),
    ),
    Mutant(
        "forecast interval at the wrong quantiles",
        "workbench/judge/forecast.py",
        "low, high = np.quantile(totals, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])",
        "low, high = np.quantile(totals, [LEVEL / 2, 1 - LEVEL / 2])",
        ("tests/test_forecast.py",),
    ),
    Mutant(
        "DeLong ignores the account clusters",
        "workbench/stats/auc.py",
        "    if cluster is not None:\n        return Delong(auc, _clustered_covariance(",
        "    if False:\n        return Delong(auc, _clustered_covariance(",
        ("tests/test_auc.py",),
    ),
    Mutant(
        "AUC interval on the normal, not Student's t",
        "workbench/stats/auc.py",
        "half = stats.t.ppf(0.5 + level / 2, max(df, 1))",
        "half = stats.norm.ppf(0.5 + level / 2)",
        ("tests/test_auc.py",),
    ),
    Mutant(
        "AUC degrees of freedom from every unit, not the rarer outcome's",
        "workbench/stats/auc.py",
        "return max(min(with_positive, with_negative) - 1, 1)",
        "return max(with_positive + with_negative - 1, 1)",
        ("tests/test_auc.py",),
    ),
    Mutant(
        "validity is not clustered by account",
        "workbench/judge/signals.py",
        "numbered = pd.Series(pd.factorize(frame[cluster])[0], index=frame.index) if cluster in frame else None",
        "numbered = None",
        ("tests/test_verdicts.py", "tests/test_monthly.py"),
    ),
    Mutant(
        "Bonferroni dropped: every test at the report's level",
        "workbench/judge/family.py",
        "return 1 - (1 - level) / max(count, 1)",
        "return level",
        ("tests/test_verdicts.py", "tests/test_capacity.py", "-k", "simultaneous or error_budget"),
    ),
    Mutant(
        "predictive from the point estimate, not the interval",
        "workbench/judge/signals.py",
        'table["predictive"] = table["auc_ci_low"] > 0.5',
        'table["predictive"] = table["auc"] > 0.5',
        ("tests/test_verdicts.py",),
    ),
    Mutant(
        "ruled out with only the interval's upper end",
        "workbench/judge/signals.py",
        'useless = (table["auc_ci_low"] >= 1 - min_useful_auc) & (table["auc_ci_high"] <= min_useful_auc)',
        'useless = table["auc_ci_high"] <= min_useful_auc',
        ("tests/test_verdicts.py",),
    ),
    Mutant(
        "a signal with too little variation is judged anyway",
        "workbench/judge/signals.py",
        "MIN_VARIED, MIN_VARIED_SHARE, MIN_VARIED_FLOOR = 30, 0.10, 3",
        "MIN_VARIED, MIN_VARIED_SHARE, MIN_VARIED_FLOOR = 0, 0.0, 0",
        ("tests/test_verdicts.py",),
    ),
    Mutant(
        "Wald for Wilson",
        "workbench/stats/rates.py",
        'method="wilson"',
        'method="normal"',
        ("tests/test_verdicts.py", "-k", "wilson or clustered_rates"),
    ),
    Mutant(
        "rates' design effect ignored",
        "workbench/stats/rates.py",
        "design_effect = np.where(simple > 0, clustered / simple, 1.0).clip(min=1.0)",
        "design_effect = np.ones_like(simple)",
        ("tests/test_verdicts.py", "-k", "effective_size or clustered_rates"),
    ),
    Mutant(
        "data read one day after the observation date",
        "workbench/measure/pointintime.py",
        "(np.asarray(day, dtype=np.int64) + _DAY_SPAN // 2)",
        "(np.asarray(day, dtype=np.int64) + 1 + _DAY_SPAN // 2)",
        ("tests/test_pointintime.py",),
    ),
    Mutant(
        "latest value taken from a window that ends before the observation date",
        "workbench/measure/pointintime.py",
        'low = np.searchsorted(self.key, key - window_days, side="right")\n        total',
        'low = np.searchsorted(self.key, key - window_days - 1, side="right")\n        total',
        ("tests/test_pointintime.py",),
    ),
    Mutant(
        "GRR with max for min",
        "workbench/judge/revenue.py",
        '"grr": float(np.minimum(arr_end, arr_start).sum() / total)',
        '"grr": float(np.maximum(arr_end, arr_start).sum() / total)',
        ("tests/test_revenue.py",),
    ),
    Mutant(
        "earned growth without referral revenue",
        "workbench/judge/revenue.py",
        "nrr + referral_arr / total - 1",
        "nrr - 1",
        ("tests/test_revenue.py",),
    ),
    Mutant(
        "scorecard split at random instead of in time",
        "workbench/judge/scorecard.py",
        'ordered = decisions.sort_values("end_date", kind="stable")',
        "ordered = decisions.sample(frac=1.0, random_state=0)",
        ("tests/test_scorecard.py",),
    ),
    Mutant(
        "scorecard tested on decisions it learned from",
        "workbench/judge/scorecard.py",
        'later = ordered.loc[ordered["end_date"] > split_date]',
        "later = ordered",
        ("tests/test_scorecard.py",),
    ),
    Mutant(
        "propensity weights not inverted",
        "workbench/judge/touches.py",
        "weights * np.where(treated, 1 / score, 1 / (1 - score))",
        "weights * np.where(treated, score, 1 - score)",
        ("tests/test_capacity.py", "-k", "planted or target"),
    ),
    Mutant(
        "touch effect's standard error without the floor chance gives",
        "workbench/judge/touches.py",
        "se = np.maximum(np.nanstd(draws, axis=0), null_se(treated, churned, score, codes))",
        "se = np.nanstd(draws, axis=0)",
        ("tests/test_capacity.py", "-k", "narrower_than_chance"),
    ),
    Mutant(
        "touch effect estimated with a handful of episodes on one side",
        "workbench/judge/capacity.py",
        "sides < min_decisions // 2",
        "sides < 1",
        ("tests/test_capacity.py", "-k", "narrower_than_chance"),
    ),
    Mutant(
        "slowdown interval on the normal, not Knapp-Hartung's t",
        "workbench/stats/metaregression.py",
        "return float(stats.t.ppf(1 - (1 - level) / 2, self.df))",
        "return float(stats.norm.ppf(1 - (1 - level) / 2))",
        ("tests/test_capacity.py", "-k", "slowdown"),
    ),
    Mutant(
        "off-track projection replaced by today's attainment",
        "workbench/measure/goals.py",
        'pairs["projected_at_renewal"] = model.project(pairs["goal_id"], renewal_month)',
        'pairs["projected_at_renewal"] = pairs["attainment_now"]',
        ("tests/test_goals.py",),
    ),
    Mutant(
        "derive: terms ignores date_format for end dates",
        "workbench/inputs/terms.py",
        'pd.to_datetime(rows["end_date"], format=date_format, errors="coerce")',
        'pd.to_datetime(rows["end_date"], errors="coerce")',
        ("tests/test_mapping_language.py", "tests/test_mapping.py"),
    ),
    Mutant(
        "a mapping's where: reads dates without the table's format",
        "workbench/inputs/mapping.py",
        "kept = condition(frame[column], rule, date_format)",
        "kept = condition(frame[column], rule, None)",
        ("tests/test_mapping_language.py", "tests/test_mapping.py"),
    ),
    Mutant(
        "a study after the export date is allowed",
        "workbench/study.py",
        "if loaded.export_date is not None and pd.Timestamp(as_of) > loaded.export_date:",
        "if False:",
        ("tests/test_mapping.py", "-k", "export_date"),
    ),
    Mutant(
        "lead time judges every horizon, not a fixed sequence",
        "workbench/judge/lead_time.py",
        "reached = found.cumprod(axis=1).shift(1, axis=1, fill_value=1).astype(bool)",
        "reached = found.astype(bool) | True",
        ("tests/test_lead_time.py",),
    ),
    Mutant(
        "watermelon: green from the red threshold",
        "workbench/judge/watermelon.py",
        "np.select([score >= green_from, score >= red_below",
        "np.select([score >= red_below, score >= red_below",
        ("tests/test_signal_analyses.py",),
    ),
    Mutant(
        "reach probability from the final attainment, not the landmark's",
        "workbench/judge/attainment.py",
        'pd.cut(known[f"attainment_m{month}"], REACH_BINS',
        'pd.cut(known["attainment_final"], REACH_BINS',
        ("tests/test_goals.py", "tests/test_signal_analyses.py"),
    ),
    Mutant(
        "decisions to settle counted to a useful AUC whatever the AUC seen",
        "workbench/stats/power.py",
        "target = np.maximum(distance, (useful - 0.5) - distance)",
        "target = np.full_like(distance, useful - 0.5)",
        ("tests/test_verdicts.py", "-k", "settle"),
    ),
)


def copy_project(into: Path) -> None:
    """The tracked files (the sample's data linked, not copied: nothing writes it)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in listed.decode().split("\0"):
        if not name or name.startswith("data/sample/"):
            continue
        source, target = ROOT / name, into / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if (ROOT / "data" / "sample").exists():
        (into / "data").mkdir(exist_ok=True)
        (into / "data" / "sample").symlink_to(ROOT / "data" / "sample")


def run(mutant: Mutant | None, tests: tuple[str, ...] = ()) -> dict:
    """`mutant`'s tests on a mutated copy; with None, `tests` on an unmutated one (they must pass there, or a
    mutant 'killed' by them proves nothing)."""
    started = time.time()
    tests = mutant.tests if mutant else tests
    with tempfile.TemporaryDirectory(prefix="mutant-") as folder:
        copy = Path(folder)
        copy_project(copy)
        if mutant is not None:
            target = copy / mutant.path
            text = target.read_text()
            if text.count(mutant.before) != 1:
                return {"mutant": mutant, "result": "stale", "detail": f"found {text.count(mutant.before)} times"}
            target.write_text(text.replace(mutant.before, mutant.after))
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        where = subprocess.run(
            [sys.executable, "-c", "import workbench; print(workbench.__file__)"],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not where.startswith(str(copy)):
            return {"mutant": mutant, "result": "stale", "detail": f"the tests would import {where}"}
        outcome = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        )
    failed = [line for line in outcome.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    result = {1: "killed", 0: "survived"}.get(outcome.returncode, "broken")
    said = outcome.stdout.strip().splitlines() or outcome.stderr.strip().splitlines() or [""]
    detail = failed[0] if failed else said[-1]
    return {"mutant": mutant, "result": result, "detail": detail, "seconds": time.time() - started}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="names (or parts of names) of the mutants to run")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, not {args.workers}")
    chosen = [m for m in MUTANTS if not args.only or any(part in m.name for part in args.only)]
    if not chosen:
        names = "\n  ".join(m.name for m in MUTANTS)
        parser.error(f"no mutant's name contains {args.only}; the names are:\n  {names}")
    print(f"{len(chosen)} mutants, {args.workers} at a time ...", file=sys.stderr, flush=True)
    selections = sorted({m.tests for m in chosen})
    rows = []
    with ThreadPoolExecutor(args.workers) as pool:
        baseline = dict(zip(selections, pool.map(lambda tests: run(None, tests), selections)))
        failing = [" ".join(t) for t, found in baseline.items() if found["result"] != "survived"]
        if failing:
            print("These tests fail without any mutant, so they cannot judge one:", *failing, sep="\n  ")
            return 1
        print(f"  the {len(selections)} selections of tests pass unmutated", file=sys.stderr, flush=True)
        for done, row in enumerate(pool.map(run, chosen), 1):
            rows.append(row)
            print(f"  [{done}/{len(chosen)}] {row['result']:8} {row['mutant'].name}", file=sys.stderr, flush=True)
    width = max(len(r["mutant"].name) for r in rows)
    print(f"\n{'mutant':{width}}  {'place':36}  result    seconds  caught by")
    for r in rows:
        m = r["mutant"]
        print(f"{m.name:{width}}  {m.path:36}  {r['result']:8}  {r.get('seconds', 0):7.0f}  {r['detail'][:110]}")
    survived = [r for r in rows if r["result"] != "killed"]
    print(f"\n{len(rows) - len(survived)} of {len(rows)} killed" + (f", {len(survived)} not" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
