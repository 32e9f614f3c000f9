"""The service chassis: problem+json errors, request ids, health, and the session that commits
before the response leaves (or rolls back)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter
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
