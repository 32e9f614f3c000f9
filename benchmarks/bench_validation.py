"""How fast is Tessera's EN 16931 validator? Run: ``.venv/bin/python -m benchmarks.bench_validation``.

Measures, and prints as small tables against the targets of the validator's issue:

1. per example invoice (the 19 official examples in ../shared): median time of the parse, the
   UBL 2.1 XSD, the EN 16931 rules, and the whole ``validate`` (target: whole <= 1.4 ms, five times
   faster than the official XSLT's 7 ms), and which rule families take that time;
2. generated invoices of 1,000 to 10,000 lines (an example's lines repeated, totals recomputed):
   time, time per line (cost must be linear) and peak memory (10,000 lines: well under 1 s, < 200 MB);
3. ``tessera validate`` over 2,000 files (copies of the examples), whole process wall time
   (target <= 4.6 s: three times faster than 2,000 x 7 ms plus a JVM start).

``--quick`` runs fewer repetitions (for a smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path

from lxml import etree

from services.invoicing.validation import validate
from services.invoicing.validation.parser import document_type, parse
from services.invoicing.validation.rules import evaluate
from services.invoicing.validation.rules.base import GROUPS, NS, REGISTRY, Doc
from services.invoicing.validation.xsd import validate as xsd_validate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT.parent / "shared" / "conformance" / "en16931-ubl-examples"
FIXTURE = ROOT / "tests" / "fixtures" / "ubl" / "municipal-invoice.xml"
TARGET_WHOLE_MS = 1.4
TARGET_CLI_S = 4.6
TARGET_BIG_S = 1.0
TARGET_BIG_MB = 200
CBC, CAC = NS["cbc"], NS["cac"]


def examples() -> list[Path]:
    if not EXAMPLES_DIR.is_dir():
        print(f"note: {EXAMPLES_DIR} is absent; measuring Tessera's own fixture instead")
        return [FIXTURE]
    return sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() == ".xml")


def median_seconds(action: Callable[[], object], budget: float, at_least: int = 5) -> tuple[float, float]:
    """Median wall time and median CPU time of ``action``, repeated until about ``budget`` seconds are spent.

    The CPU time (this process's, ``time.process_time``) leaves out the waits for a core that
    other work on a shared machine causes, so it is the steadier figure there.
    """
    action()  # warm caches (schemas, memo paths)
    times: list[float] = []
    cpu: list[float] = []
    spent = 0.0
    while len(times) < at_least or spent < budget:
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        cpu.append(time.process_time() - started_cpu)
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        spent += elapsed
        if len(times) >= 5000:
            break
    return statistics.median(times), statistics.median(cpu)


def interleaved_medians(actions: dict[str, Callable[[], object]], budget: float) -> dict[str, float]:
    """Median wall time of each action, run in turn so that a busy machine weighs on all alike."""
    for action in actions.values():
        action()
    times: dict[str, list[float]] = {name: [] for name in actions}
    spent = 0.0
    while len(times[next(iter(actions))]) < 5 or spent < budget * len(actions):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            elapsed = time.perf_counter() - started
            times[name].append(elapsed)
            spent += elapsed
        if len(times[name]) >= 5000:
            break
    return {name: statistics.median(values) for name, values in times.items()}


def family_of(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def check_times(root: etree._Element, repeats: int) -> dict[tuple[str, str], float]:
    """Seconds per run spent in each rule check or group pass, keyed by (family, rule id or group name).

    Views shared through ``Doc.memo`` are charged to the first check that asks for them.
    """
    totals: dict[tuple[str, str], float] = defaultdict(float)
    checks: list[tuple[tuple[str, str], Callable[[Doc], Iterable[object]]]] = [
        ((family_of(r.check.__module__), r.id), r.check) for r in REGISTRY.values() if r.check is not None
    ]
    checks += [((family_of(g.__module__), g.__name__), g) for g in GROUPS]
    for _ in range(repeats):
        doc = Doc(root)
        for key, check in checks:
            started = time.perf_counter()
            try:
                for _hit in check(doc):
                    pass
            except Exception:  # noqa: BLE001, S110  (the engine reports crashes; here only time matters)
                pass
            totals[key] += time.perf_counter() - started
    return {key: total / repeats for key, total in totals.items()}


def run_rules(root: etree._Element) -> list[object]:
    return list(evaluate(root))


def bench_examples(paths: list[Path], budget: float) -> None:
    print("\n1. Per example invoice (median of repeated runs, milliseconds)")
    print(f"{'file':<56} {'KB':>6} {'parse':>7} {'xsd':>7} {'rules':>7} {'whole':>7}")
    rows: dict[str, list[float]] = defaultdict(list)
    checks: dict[tuple[str, str], list[float]] = defaultdict(list)
    for path in paths:
        data = path.read_bytes()
        root = parse(data)
        kind = document_type(root)
        stage = interleaved_medians(
            {
                "parse": partial(parse, data),
                "xsd": partial(xsd_validate, root, kind),
                "rules": partial(run_rules, root),
                "whole": partial(validate, data),
            },
            budget,
        )
        for name, seconds in stage.items():
            rows[name].append(seconds * 1000)
        cells = " ".join(f"{stage[s] * 1000:7.3f}" for s in ("parse", "xsd", "rules", "whole"))
        print(f"{path.name[:56]:<56} {len(data) / 1024:6.0f} {cells}")
        for (family, name), seconds in check_times(root, repeats=max(3, int(budget * 200))).items():
            checks[(family, name)].append(seconds * 1000)
    medians = {name: statistics.median(values) for name, values in rows.items()}
    cells = " ".join(f"{medians[s]:7.3f}" for s in ("parse", "xsd", "rules", "whole"))
    print(f"{'MEDIAN over ' + str(len(paths)) + ' examples':<56} {'':>6} {cells}")
    verdict = "meets" if medians["whole"] <= TARGET_WHOLE_MS else "MISSES"
    print(
        f"whole validation: median {medians['whole']:.3f} ms, {verdict} the target of <= {TARGET_WHOLE_MS} ms"
    )
    families: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(paths))
    for (family, _), values in checks.items():
        for index, value in enumerate(values):
            families[family][index] += value
    print("\n   Rule families (median over the examples, milliseconds per invoice)")
    for family, values in sorted(families.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"   {family:<14} {statistics.median(values):7.3f}   max {max(values):7.3f}")
    print("\n   Slowest rule checks (median over the examples, milliseconds per invoice)")
    slowest = sorted(checks.items(), key=lambda kv: -statistics.median(kv[1]))[:12]
    for (family, name), values in slowest:
        print(f"   {family:<14} {name:<28} {statistics.median(values):7.3f}   max {max(values):7.3f}")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def big_invoice(lines: int) -> bytes:
    """Tessera's fixture invoice with ``lines`` lines (its two lines repeated) and totals recomputed.

    All lines are standard rated at one rate, so one VAT breakdown holds every line.
    """
    root = etree.fromstring(FIXTURE.read_bytes())
    templates = root.findall(f"{{{CAC}}}InvoiceLine")
    for line in templates:
        root.remove(line)
    total = Decimal(0)
    for number in range(1, lines + 1):
        line = etree.fromstring(etree.tostring(templates[(number - 1) % len(templates)]))
        line.find(f"{{{CBC}}}ID").text = str(number)  # type: ignore[union-attr]
        total += Decimal(line.findtext(f"{{{CBC}}}LineExtensionAmount") or "0")
        root.append(line)
    allowances = sum(
        (Decimal(a.findtext(f"{{{CBC}}}Amount") or "0") for a in root.findall(f"{{{CAC}}}AllowanceCharge")),
        Decimal(0),
    )
    taxable = total - allowances
    rate = Decimal(root.findtext(f".//{{{CAC}}}TaxSubtotal/{{{CAC}}}TaxCategory/{{{CBC}}}Percent") or "0")
    tax = (taxable * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    values = {
        f"{{{CAC}}}TaxTotal/{{{CBC}}}TaxAmount": tax,
        f"{{{CAC}}}TaxTotal/{{{CAC}}}TaxSubtotal/{{{CBC}}}TaxableAmount": taxable,
        f"{{{CAC}}}TaxTotal/{{{CAC}}}TaxSubtotal/{{{CBC}}}TaxAmount": tax,
        f"{{{CAC}}}LegalMonetaryTotal/{{{CBC}}}LineExtensionAmount": total,
        f"{{{CAC}}}LegalMonetaryTotal/{{{CBC}}}TaxExclusiveAmount": taxable,
        f"{{{CAC}}}LegalMonetaryTotal/{{{CBC}}}TaxInclusiveAmount": taxable + tax,
        f"{{{CAC}}}LegalMonetaryTotal/{{{CBC}}}PayableAmount": taxable + tax,
    }
    for path, value in values.items():
        root.find(path).text = _money(value)  # type: ignore[union-attr]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _status_mb(field: str) -> float | None:
    """A memory figure of this process from /proc/self/status (Linux), in MB; None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    # Writing 5 to clear_refs resets the peak resident size (VmHWM) to the current one (Linux >= 4.0).
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_of_one_validation(path: Path) -> dict[str, float]:
    """Run in a fresh process: resident memory before validating ``path`` once, its peak during, and the time.

    ru_maxrss is no use here: Linux carries the parent's peak over into a child, so the
    figures come from /proc/self/status where available.
    """
    validate(FIXTURE.read_bytes())  # schemas and rules loaded: the baseline is a warm validator
    data = path.read_bytes()
    exact = _reset_peak()
    before = _status_mb("VmRSS") if exact else None
    if before is None:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    report = validate(data)
    elapsed = time.perf_counter() - started
    after = (_status_mb("VmHWM") if exact else None) or resource.getrusage(
        resource.RUSAGE_SELF
    ).ru_maxrss / 1024
    return {"before": before, "after": after, "seconds": elapsed, "findings": len(report.findings)}


def bench_big(sizes: list[int], budget: float) -> None:
    print("\n2. Generated large invoices (the fixture's lines repeated, totals consistent)")
    print(
        f"{'lines':>7} {'MB':>6} {'seconds':>8} {'cpu s':>8} {'us/line':>8} {'findings':>8} {'peak MB':>8} "
        f"{'process MB':>10}"
    )
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as scratch:
        for lines in sizes:
            data = big_invoice(lines)
            path = Path(scratch) / f"invoice-{lines}.xml"
            path.write_bytes(data)
            seconds, cpu = median_seconds(partial(validate, data), budget, at_least=3)
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_validation", "--peak-of", str(path)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            peak = json.loads(done.stdout)
            print(
                f"{lines:>7} {len(data) / 2**20:6.1f} {seconds:8.3f} {cpu:8.3f} {cpu / lines * 1e6:8.1f} "
                f"{int(peak['findings']):>8} {peak['after'] - peak['before']:8.1f} {peak['after']:10.1f}"
            )
        root = parse(data)
        stages = interleaved_medians(
            {
                "parse": partial(parse, data),
                "xsd": partial(xsd_validate, root, "Invoice"),
                "rules": partial(run_rules, root),
            },
            budget,
        )
        print(
            f"\n   Stages on the {lines:,}-line invoice: "
            + ", ".join(f"{k} {v:.3f} s" for k, v in stages.items())
        )
        slowest = sorted(check_times(root, repeats=1).items(), key=lambda kv: -kv[1])[:10]
        print(f"\n   Slowest rule checks on the {lines:,}-line invoice (ms, microseconds per line)")
        for (family, name), seconds in slowest:
            print(f"   {family:<13} {name:<28} {seconds * 1000:8.1f} {seconds / lines * 1e6:7.2f}")
    print(
        f"targets for 10,000 lines: < {TARGET_BIG_S} s and < {TARGET_BIG_MB} MB; 'us/line' is CPU time; "
        "'peak MB' is the growth of the process's peak memory while validating, 'process MB' its whole peak"
    )


def bench_cli(paths: list[Path], files: int) -> None:
    print(f"\n3. Validating {files:,} files (copies of the examples) from the command line, whole process")
    tessera = [sys.executable, "-m", "services.cli", "validate"]
    alone = [sys.executable, "-m", "services.invoicing.validation.cli"]
    variants = {
        "tessera validate --format json": [*tessera, "--format", "json"],
        "tessera validate (text)": tessera,
        "tessera validate --jobs 1": [*tessera, "--jobs", "1", "--format", "json"],
        "python -m ...validation.cli": [*alone, "--format", "json"],
    }
    with tempfile.TemporaryDirectory(prefix="tessera-bench-cli-") as scratch:
        folder = Path(scratch) / "in"
        folder.mkdir()
        for index in range(files):
            source = paths[index % len(paths)]
            shutil.copyfile(source, folder / f"{index:05}-{source.name}")
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"{files:,} files, {size / 2**20:.0f} MB; target <= {TARGET_CLI_S} s")
        print(f"{'command':<34} {'seconds':>8} {'ms/file':>8} {'cpu s':>8} {'exit':>5}")
        for name, command in variants.items():
            with open(Path(scratch) / "out", "wb") as sink:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                done = subprocess.run(
                    [*command, str(folder)], stdout=sink, stderr=subprocess.PIPE, check=False, cwd=ROOT
                )
                elapsed = time.perf_counter() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # User and system time of the command and its worker processes, all cores together.
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            verdict = "meets" if elapsed <= TARGET_CLI_S else "MISSES"
            print(
                f"{name:<34} {elapsed:8.2f} {elapsed / files * 1000:8.2f} {cpu:8.2f} {done.returncode:>5}  {verdict}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", choices=("examples", "big", "cli"), help="run one part")
    parser.add_argument("--peak-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_of:
        print(json.dumps(peak_of_one_validation(args.peak_of)))
        return 0
    budget = 0.05 if args.quick else 0.3
    paths = examples()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    print(f"{os.cpu_count()} CPUs, load average {load} (figures are only comparable on an idle machine)")
    if args.only in (None, "examples"):
        bench_examples(paths, budget)
    if args.only in (None, "big"):
        bench_big([1_000, 2_500, 5_000, 10_000], budget)
    if args.only in (None, "cli"):
        bench_cli(paths, 200 if args.quick else 2_000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
