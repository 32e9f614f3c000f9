"""The service chassis: problem+json errors, request ids, health, and the session that commits
before the response leaves (or rolls back)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.chassis import create_service_app
from services.common.db import IdMixin, SessionDep, new_metadata
from services.common.errors import Conflict
from services.common.settings import CommonSettings


class Base(DeclarativeBase):
    metadata = new_metadata()


class Note(IdMixin, Base):
    __tablename__ = "notes"
    text: Mapped[str] = mapped_column(String(50))


class NoteIn(BaseModel):
    text: str
    fail: bool = False


router = APIRouter()


@router.post("/notes", status_code=201)
def create_note(body: NoteIn, session: SessionDep) -> dict[str, str]:
    session.add(Note(text=body.text))
    session.flush()
    if body.fail:
        raise Conflict("refused after the row was flushed", reason="test")
    return {"status": "created"}


@router.post("/notes/raw", status_code=201)
async def create_note_from_raw_text(request: Request, session: SessionDep) -> dict[str, str]:
    """Reads the body as a stream, as the invoice upload does."""
    body = b"".join([chunk async for chunk in request.stream()])
    session.add(Note(text=body.decode()))
    return {"status": "created"}


@router.get("/notes")
def list_notes(session: SessionDep) -> list[str]:
    return [n.text for n in session.scalars(select(Note))]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'chassis.db'}"
    app = create_service_app(
        name="demo",
        title="Demo",
        description="",
        settings=CommonSettings(),
        database_url=url,
        routers=[router],
    )
    with TestClient(app) as test_client:
        Base.metadata.create_all(app.state.database.engine)
        yield test_client


def test_commit_on_success_and_rollback_on_domain_error(client: TestClient) -> None:
    assert client.post("/notes", json={"text": "kept"}).status_code == 201
    refused = client.post("/notes", json={"text": "dropped", "fail": True})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "conflict" and body["reason"] == "test" and body["instance"] == "/notes"
    assert client.get("/notes").json() == ["kept"]


def test_validation_error_names_the_field(client: TestClient) -> None:
    response = client.post("/notes", json={"txt": "typo"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert "text" in body["detail"]
    assert body["errors"][0]["field"] == "text"


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_request_id_is_passed_through_or_generated(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    generated = client.get("/healthz").headers["X-Request-Id"]
    assert len(generated) == 32
    assert client.get("/healthz", headers={"X-Request-Id": "x" * 500}).headers["X-Request-Id"] != "x" * 500


def test_readiness_and_metrics(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
    client.get("/notes")
    metrics = client.get("/metrics").text
    assert 'tessera_http_requests_total{method="GET",route="/notes",service="demo",status="200"}' in metrics


def test_readiness_fails_when_database_is_unreachable() -> None:
    app = create_service_app(
        name="demo2",
        title="Demo",
        description="",
        settings=CommonSettings(),
        # Nothing listens on port 1: the database is unreachable, as during an outage.
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
        routers=[],
    )
    with TestClient(app) as test_client:
        response = test_client.get("/readyz")
        assert test_client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "failing"}}


def test_a_caller_that_hangs_up_mid_body_is_a_499_and_changes_nothing(client: TestClient) -> None:
    """Driven at the ASGI level: the body's first half arrives, then the caller disconnects."""
    assert client.post("/notes/raw", content=b"whole").status_code == 201
    app = client.app
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/notes/raw",
        "raw_path": b"/notes/raw",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"40")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "root_path": "",
    }
    incoming = [
        {"type": "http.request", "body": b"half", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)  # no exception escapes: no traceback, no 500
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
    assert client.get("/notes").json() == ["whole"]
