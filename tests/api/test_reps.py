"""Reps: dates and the soft delete that ends a rep."""

from tests import factories as f


async def test_rep_dates_and_soft_delete(client, tenant):
    r = await client.post(
        "/v1/reps",
        json={
            "external_id": "R1",
            "name": "n",
            "email": "n@example.com",
            "start_date": "2026-03-01",
            "end_date": "2026-02-01",
        },
        headers=tenant.headers,
    )
    assert r.status_code == 422 and r.json()["code"] == "end_before_start"
    rep = await f.rep(client, tenant.headers, start_date="2024-01-01")
    r = await client.delete(f"/v1/reps/{rep['id']}", headers=tenant.headers)
    assert r.status_code == 200 and r.json()["end_date"] is not None
    assert (await client.get(f"/v1/reps/{rep['id']}", headers=tenant.headers)).status_code == 200
    active = (await client.get("/v1/reps?active=true", headers=tenant.headers)).json()["items"]
    assert rep["id"] not in [x["id"] for x in active]
    r = await client.post(
        "/v1/reps", json={"external_id": "R2", "name": "n", "email": "not-an-email"}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"
