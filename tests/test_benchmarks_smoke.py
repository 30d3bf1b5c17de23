"""Smoke test for benchmarks/host_speed.py: its parsing and table on canned data, no timing."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "host_speed.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("host_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["host_speed"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("host_speed", None)


def _canned(bench):
    R = bench.RunResult
    return [
        R(name="smbaudit local", tool="smbaudit", ok=True, wall_s=2.0, cpu_s=1.5, peak_rss_kb=40 * 1024,
          tree_rss_kb=41 * 1024, checks=120, checks_label="findings"),
        R(name="smbaudit dir:<demo tree>", tool="smbaudit", ok=True, wall_s=1.0,
          peak_rss_kb=38 * 1024, tree_rss_kb=38 * 1024, checks=120, checks_label="findings"),
        R(name="lynis audit system --quick", tool="lynis", ok=True, wall_s=60.0, cpu_s=60.0,
          peak_rss_kb=20 * 1024, tree_rss_kb=30 * 1024, checks=229,
          checks_label="tests executed"),
        R(name="oscap xccdf eval (standard)", tool="oscap",
          note="oscap is not installed: apt-get install openscap-scanner ssg-debian"),
    ]


def test_table_has_runs_ratios_and_missing_tool_line(bench) -> None:
    text = bench.format_table(_canned(bench), {"os": "Debian 12", "kernel": "6.1", "cpus": 2,
                                               "root": True, "loadavg_at_start": [0.5, 0.4, 0.3]})
    assert "load average 0.50 at start" in text
    assert "smbaudit local" in text and "lynis audit system --quick" in text
    assert "60.0" in text and "229" in text
    assert ("smbaudit local: 2.00 s, 40.0 MB; lynis audit system --quick: 60.0 s, 20.0 MB "
            "-> 30x faster (40x less CPU time), 2.0x the peak memory") in text
    assert "oscap is not installed: apt-get install openscap-scanner" in text
    # a tool that did not run gets its note, but no row in the table and no ratio
    assert "oscap xccdf eval (standard)" not in text.split("\n\n")[0]
    assert text.count("faster") == 1


def test_ratios_and_json(bench) -> None:
    results = _canned(bench)
    rows = bench.ratios(results)
    assert [r["peer"] for r in rows] == ["lynis audit system --quick"]
    assert rows[0]["speedup"] == pytest.approx(30.0)
    assert rows[0]["memory_ratio"] == pytest.approx(0.5)
    assert rows[0]["cpu_ratio"] == pytest.approx(40.0)
    doc = bench.to_json(results, {"os": "x"}, {"lynis": "3.0.8"}, ["python", "host_speed.py"])
    again = json.loads(json.dumps(doc))
    assert again["runs"][2]["checks"] == 229
    assert again["ratios"][0]["speedup"] == pytest.approx(30.0)


def test_no_ratio_without_a_local_baseline(bench) -> None:
    results = [r for r in _canned(bench) if r.name != "smbaudit local"]
    assert bench.ratios(results) == []
    assert "faster" not in bench.format_table(results)


def test_parsers_on_canned_reports(bench, tmp_path: Path) -> None:
    lynis = tmp_path / "report.dat"
    lynis.write_text("# Lynis Report\nhardening_index=56\n"
                     "tests_executed=KRNL-6000|AUTH-9208|SSH-7408|\n"
                     "tests_skipped=PKGS-7392|\nwarning[]=A|b|-|-|\nsuggestion[]=C|d|-|-|\n"
                     "suggestion[]=E|f|-|-|\n", encoding="utf-8")
    got = bench.parse_lynis_report(lynis)
    assert (got["tests_executed"], got["tests_skipped"], got["warnings"], got["suggestions"],
            got["hardening_index"]) == (3, 1, 1, 2, "56")

    ns = "http://checklists.nist.gov/xccdf/1.2"
    rules = "".join(f'<rule-result idref="r{i}"><result>{s}</result></rule-result>'
                    for i, s in enumerate(["pass", "fail", "notapplicable", "notselected",
                                           "pass"]))
    xccdf = tmp_path / "results.xml"
    xccdf.write_text(f'<Benchmark xmlns="{ns}"><TestResult id="t">{rules}</TestResult>'
                     "</Benchmark>", encoding="utf-8")
    got = bench.parse_oscap_results(xccdf)
    assert (got["rules_selected"], got["rules_evaluated"]) == (4, 3)

    report = tmp_path / "r.json"
    report.write_text(json.dumps({"checks_loaded": 3, "complete": True,
                                  "summary": {"score": 7.0, "grade": "A"},
                                  "findings": [{"status": "pass"}, {"status": "fail"},
                                               {"status": "pass"}]}), encoding="utf-8")
    got = bench.parse_smbaudit_report(report)
    assert got["findings"] == 3 and got["by_status"] == {"pass": 2, "fail": 1}


def test_adapted_datastream_changes_only_the_release_pattern(bench, tmp_path: Path) -> None:
    ds = tmp_path / "ssg-debian11-ds.xml"
    ds.write_text("<x><pattern>^11.[0-9]+$</pattern><rule>keep ^11 here</rule></x>",
                  encoding="utf-8")
    copy = bench.adapt_datastream(ds, "11", "12", tmp_path)
    assert copy.read_text(encoding="utf-8") == (
        "<x><pattern>^(11|12).[0-9]+$</pattern><rule>keep ^11 here</rule></x>")
    assert bench.adapt_datastream(copy, "10", "12", tmp_path) is None


def test_missing_peer_tools_give_a_line_not_a_crash(bench, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bench, "find_program", lambda name: None)
    lynis = bench.run_lynis(tmp_path, timeout=1)
    oscap = bench.run_oscap(tmp_path, timeout=1, profile="standard")
    assert not lynis.ok and "apt-get install lynis" in lynis.note
    assert not oscap.ok and "apt-get install openscap-scanner" in oscap.note
    assert lynis.wall_s is None and oscap.wall_s is None


def test_pairs_give_ratios_and_their_median(bench) -> None:
    R = bench.RunResult
    pairs = [(R(name="a", tool="smbaudit", ok=True, wall_s=w, cpu_s=c),
              R(name="b", tool="lynis", ok=True, wall_s=lw, cpu_s=lc))
             for w, c, lw, lc in ((2.0, 1.0, 100.0, 40.0), (4.0, 1.0, 100.0, 50.0),
                                  (2.5, 1.0, 100.0, 45.0))]
    pairs.append((R(name="a", tool="smbaudit", ok=True, wall_s=2.0, cpu_s=1.0),
                  R(name="b", tool="lynis", note="timed out")))  # not a pair: left out
    rows = bench.pair_ratios(pairs)
    assert [r["wall_ratio"] for r in rows] == [50.0, 25.0, 40.0]
    text = bench.format_pairs(rows)
    assert "median of 3 pairs: smbaudit local is 40x faster by wall time, 45x by CPU time" in text
