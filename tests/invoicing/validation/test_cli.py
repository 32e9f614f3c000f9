"""``tessera validate``: files and folders, text and JSON, exit codes, messages, progress bar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import cli
from services.invoicing.validation import cli as validate_cli
from services.invoicing.validation.rules.base import GROUPS, REGISTRY
from tests.invoicing.validation.support import CREDIT_NOTE, INVOICE, require_schemas


@pytest.fixture(autouse=True, scope="module")
def schemas() -> Path:
    return require_schemas()


@pytest.fixture(autouse=True)
def schema_only() -> Iterator[None]:
    """The command is tested with the schema stage only: the EN 16931 rules have their own tests."""
    saved_rules, saved_groups = dict(REGISTRY), list(GROUPS)
    REGISTRY.clear()
    GROUPS.clear()
    yield
    REGISTRY.update(saved_rules)
    GROUPS[:] = saved_groups


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A tree with valid and invalid documents, upper-case extensions, and files to ignore."""
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a-invoice.xml").write_bytes(INVOICE.read_bytes())
    (tmp_path / "sub" / "B-CREDIT.XML").write_bytes(CREDIT_NOTE.read_bytes())
    (tmp_path / "sub" / "deeper" / "c-broken.Xml").write_bytes(
        INVOICE.read_text().replace("<cbc:IssueDate>2026-03-02</cbc:IssueDate>", "").encode()
    )
    (tmp_path / "notes.txt").write_text("not an invoice")
    (tmp_path / "sub" / "invoice.xml.bak").write_text("<old/>")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_valid_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(INVOICE))
    assert code == 0
    assert out.splitlines() == [
        f"{INVOICE}: valid",
        "1 file: 1 valid, 0 invalid; 0 fatal findings, 0 warnings",
    ]
    assert err == ""


def test_folders_are_walked_for_xml_in_any_case(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--format", "json", str(folder))
    assert code == 1
    objects = [json.loads(line) for line in out.splitlines()]
    assert [Path(o["file"]).relative_to(folder).as_posix() for o in objects] == [
        "a-invoice.xml",
        "sub/B-CREDIT.XML",
        "sub/deeper/c-broken.Xml",
    ]
    assert [o["valid"] for o in objects] == [True, True, False]
    broken = objects[2]["findings"]
    assert {f["rule"] for f in broken} == {"XSD"}
    assert all(set(f) == {"rule", "severity", "location", "line", "message"} for f in broken)


def test_text_output_reports_findings_and_a_summary(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(folder))
    assert code == 1
    assert f"{folder / 'sub' / 'deeper' / 'c-broken.Xml'}: INVALID (1 fatal finding)" in out
    assert "cbc:IssueDate" in out
    assert out.splitlines()[-1] == "3 files: 2 valid, 1 invalid; 1 fatal finding, 0 warnings"


def test_a_missing_path_exits_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(INVOICE), str(tmp_path / "absent.xml"))
    assert code == 2
    assert f"{tmp_path / 'absent.xml'}: no such file or folder" in err
    assert f"{INVOICE}: valid" in out


def test_a_folder_without_xml_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "readme.txt").write_text("x")
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2
    assert "no *.xml file" in err


def test_an_unreadable_file_exits_2(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_read = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path.name == "a-invoice.xml":
            raise PermissionError(13, "Permission denied")
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code, out, err = run(capsys, str(folder))
    assert code == 2
    assert "a-invoice.xml: cannot be read (Permission denied)" in err
    assert out.splitlines()[-1].endswith("; 1 could not be read")


def test_no_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert "at least one file or folder" in err


def test_a_bad_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate", "--format", "yaml", str(INVOICE)])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_files_over_the_size_limit_are_invalid_without_being_read(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Path, "read_bytes", lambda path: pytest.fail("an oversized file must not be read"))
    code, out, _ = run(capsys, "--format", "json", "--max-bytes", "100", str(INVOICE))
    assert code == 1
    [finding] = json.loads(out)["findings"]
    assert finding["rule"] == "XML" and "over the limit of 100 bytes" in finding["message"]


def test_the_rule_catalogue_can_be_listed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--rules", "--format", "json")
    assert code == 0
    rules = [json.loads(line) for line in out.splitlines()]
    assert [r["rule"] for r in rules[:3]] == ["XML", "DOCTYPE", "XSD"]
    assert set(rules[0]) == {"rule", "flag", "terms", "message"}


def test_a_progress_bar_only_on_a_terminal_and_for_many_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for index in range(validate_cli.PROGRESS_FROM):
        (tmp_path / f"{index:03}.xml").write_bytes(INVOICE.read_bytes())
    code, out, err = run(capsys, str(tmp_path))
    assert code == 0 and err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out_tty, err = run(capsys, str(tmp_path))
    assert code == 0
    assert f"0/{validate_cli.PROGRESS_FROM} [" in err and "file/s" in err
    assert out_tty == out
    code, _, err = run(capsys, str(INVOICE))
    assert err == ""


def test_the_installed_command_runs_end_to_end(folder: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "validate", "--format", "json", str(folder / "sub")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    files = [Path(json.loads(line)["file"]).name for line in done.stdout.splitlines()]
    assert files == ["B-CREDIT.XML", "c-broken.Xml"]


def test_worker_processes_give_the_same_output_in_the_same_order(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index in range(6):
        (folder / f"copy-{index}.xml").write_bytes(INVOICE.read_bytes())
    (folder / "copy-3.xml").write_bytes(b"<broken")
    serial = run(capsys, "--jobs", "1", "--format", "json", str(folder))
    parallel = run(capsys, "--jobs", "2", "--format", "json", str(folder))
    assert parallel == serial
    assert serial[0] == 1
    assert [json.loads(line)["valid"] for line in serial[1].splitlines()].count(False) == 2


def test_the_module_runs_the_validate_command_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_cli.main(["--format", "json", str(INVOICE)]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True


def test_tessera_validate_does_not_import_the_web_stack() -> None:
    probe = (
        "import sys, io, contextlib\n"
        "from services.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['validate', '--rules'])\n"
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'alembic') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.skipif(sys.platform != "linux", reason="file names of arbitrary bytes are a Linux matter")
def test_file_names_that_are_not_utf8_are_printed_escaped(tmp_path: Path) -> None:
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/bad\xffname.xml"))
    odd.write_bytes(INVOICE.read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "services.invoicing.validation.cli", "--format", "json", str(tmp_path)],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["file"].endswith("bad\\xffname.xml")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_named_xml_is_reported_not_read(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(folder / "pipe.xml")
    code, out, err = run(capsys, str(folder))
    assert code == 2
    assert "pipe.xml: cannot be read (not a regular file)" in err
    assert "3 files: 2 valid, 1 invalid" in out
