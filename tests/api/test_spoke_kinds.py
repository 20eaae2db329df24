"""GET /spoke-kinds with a broken third-party spoke package installed next to a good one."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.api.test_admin_crud import error, get, post
from tests.spokes.installed import third_party  # noqa: F401 - the fixture


@pytest.mark.usefixtures("third_party")
async def test_spoke_kinds_lists_broken_entry_points_with_their_error(api: Api) -> None:
    kinds = {k["name"]: k for k in await get(api, "/spoke-kinds")}
    assert kinds["kit_good"]["status"] == "ok"
    assert kinds["kit_good"]["settings_schema"]["required"] == ["url"]
    assert kinds["kit_good"]["distribution"] == "omniroute-kit-test"
    assert kinds["webhook"]["status"] == "ok"
    assert kinds["kit_broken"]["status"] == "broken"
    assert kinds["kit_broken"]["entry_point"] == "kit_broken_import:BrokenSpoke"
    assert "acme_sdk_that_is_not_installed" in kinds["kit_broken"]["error"]
    assert kinds["kit_not_spoke"]["supports"] == []
    good = await post(api, "/spokes", {"name": "g1", "kind": "kit_good", "settings": {"url": "x"}})
    assert good["status"] == "loaded"
    r = await api.client.post(
        "/spokes", json={"name": "b1", "kind": "kit_broken"}, headers=api.auth("admin")
    )
    assert "installed but broken" in error(r, 422, "VALIDATION_ERROR")["message"]
