from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.conftest import wait_until
from tests.integration.helpers import make_admin
from tests.paths import PHOTOS


def photo_files(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", (name, (PHOTOS / name).read_bytes(), "application/octet-stream")) for name in names]


async def new_project(client: AsyncTestClient[Any], title: str = "Grandma's garden", aspect: str = "16:9") -> dict[str, Any]:
    response = await client.post("/api/projects", json={"title": title, "aspect": aspect})
    assert response.status_code == 201, response.text
    return response.json()


async def give_credits(client: AsyncTestClient[Any], database_url: str, user: dict[str, Any], amount: int) -> None:
    """Top a user up through the admin endpoint (as themselves, made admin for the test)."""
    await make_admin(database_url, user["id"])
    if amount == 0:
        return
    response = await client.post(
        f"/api/admin/users/{user['id']}/credits", json={"amount": amount, "reason": "test credits"}
    )
    assert response.status_code == 201, response.text



async def wait_clips_settled(
    client: AsyncTestClient[Any], project_id: str, *, timeout: float = 180
) -> dict[str, Any]:
    """The project, once none of its clips is queued or generating any more."""

    async def settled() -> dict[str, Any] | None:
        body = (await client.get(f"/api/projects/{project_id}")).json()
        return None if any(c["status"] in ("queued", "generating") for c in body["clips"]) else body

    return await wait_until(settled, timeout=timeout, interval=0.2)
