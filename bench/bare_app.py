"""The bare FastAPI endpoint the lookup benchmark compares against: no auth, no database, same JSON shape."""

from fastapi import FastAPI

ANSWER = {
    "external_id": "B-0000001",
    "status": "owned",
    "role": "AE",
    "plan_id": "6f2d1c1e-1c51-4d4e-9a55-0a7c7f3f1e11",
    "account": {
        "id": "0d6f5a7e-2b8c-4f57-8b63-8e4b0c1f3a21",
        "external_id": "B-0000001",
        "name": "Company 1",
    },
    "rep": {"id": "9a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "name": "Rep 1", "email": "rep1@example.com"},
    "territory": {"id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "name": "Territory 1"},
    "since": "2026-11-23T16:26:44.402496Z",
}


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/v1/ownership/{external_id}")
    async def ownership(external_id: str, role: str = "AE") -> dict:
        return {**ANSWER, "external_id": external_id, "role": role}

    return app
