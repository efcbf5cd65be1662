"""The share reward cannot be farmed: once per project, only for clips paid for with credits."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.conftest import wait_until
from tests.integration.helpers import sign_up, sql
from tests.integration.projects.conftest import give_credits, new_project, photo_files


async def _rendered(client: AsyncTestClient[Any], project_id: str) -> dict[str, Any]:
    started = await client.post(f"/api/projects/{project_id}/render")
    assert started.status_code == 202, started.text

    async def done() -> dict[str, Any] | None:
        body = (await client.get(f"/api/renders/{started.json()['id']}")).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    render = await wait_until(done, timeout=240, interval=0.3)
    assert render["status"] == "succeeded", render
    return render


async def test_render_share_unshare_five_times_earns_one_credit_at_most(
    client: AsyncTestClient[Any], worker: Any, database_url: str
) -> None:
    me = (await sign_up(client))["user"]
    await give_credits(client, database_url, me, 1)
    project = await new_project(client, "Lake house")
    await client.post(f"/api/projects/{project['id']}/photos", files=photo_files("coffee.jpg"))
    assert (await client.post(f"/api/projects/{project['id']}/generate")).status_code == 202

    async def clips_ready() -> bool:
        body = (await client.get(f"/api/projects/{project['id']}")).json()
        return all(c["status"] == "succeeded" for c in body["clips"])

    await wait_until(clips_ready, timeout=240, interval=0.3)
    assert (await client.get("/api/me")).json()["creditBalance"] == 0

    rewarded = []
    for _ in range(5):
        render = await _rendered(client, project["id"])
        for _ in range(2):
            shared = await client.post(f"/api/renders/{render['id']}/share")
            assert shared.status_code == 200, shared.text
            rewarded.append(shared.json()["rewarded"])
            assert (await client.delete(f"/api/renders/{render['id']}/share")).status_code == 204

    assert rewarded.count(True) == 1 and rewarded[0] is True
    assert (await client.get("/api/me")).json()["creditBalance"] == 1
    rows = await sql(database_url, "SELECT reference FROM credit_transactions WHERE kind = 'share'")
    assert [r["reference"] for r in rows] == [f"project:{project['id']}"]
