"""``create-api-key`` passes ``--admin`` and ``--printer-profile`` through to the key, and writes the audit log."""

from __future__ import annotations

from postal_bridge.services import agencies
from tests.integration.test_cli import _cli


def test_create_api_key_passes_admin_and_printer_profile(clean_db: str, tmp_path) -> None:
    env = {"POSTAL_BRIDGE_DATABASE_URL": clean_db}
    assert _cli(["migrate"], env, tmp_path).returncode == 0
    assert _cli(["seed-demo"], env, tmp_path).returncode == 0
    made = _cli(
        ["create-api-key", "--agency", "HCC-HN", "--name", "ops", "--admin", "--printer-profile", "zpl203"],
        env,
        tmp_path,
    )
    assert made.returncode == 0, made.stderr
    raw = made.stdout.splitlines()[0].removeprefix("api_key=")
    plain = _cli(["create-api-key", "--agency", "HCC-HN", "--name", "desk"], env, tmp_path)
    plain_raw = plain.stdout.splitlines()[0].removeprefix("api_key=")

    from postal_bridge.bootstrap import build
    from postal_bridge.config import Settings

    container = build(
        Settings.from_env({}, instance_dir=tmp_path / "instance", database_url=clean_db, redis_url="", env="test")
    )
    try:
        caller = agencies.authenticate(container.deps, raw)
        assert caller.is_admin and caller.printer_profile == "zpl203"
        other = agencies.authenticate(container.deps, plain_raw)
        assert not other.is_admin and other.printer_profile == "pdf"
        with container.deps.uow() as uow:
            [entry] = uow.audit.entries(subject=f"api_key:{caller.key.id}", action="api_key.created")
        assert entry.actor == "cli" and entry.details["after"]["scope"] == "admin"
        assert raw not in str(entry.details)
    finally:
        container.close()
