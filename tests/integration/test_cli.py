"""The console contract other systems script against: agencies, create-api-key, migrate, config errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _cli(args: list[str], env_extra: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTAL_BRIDGE_")}
    env.update({"POSTAL_BRIDGE_INSTANCE_DIR": str(tmp_path / "instance"), **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "postal_bridge.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def db_env(clean_db: str) -> dict[str, str]:
    return {"POSTAL_BRIDGE_DATABASE_URL": clean_db}


def test_agencies_and_api_keys_follow_the_contract(db_env, tmp_path) -> None:
    assert _cli(["migrate"], db_env, tmp_path).returncode == 0
    seeded = _cli(["seed-demo"], db_env, tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    listed = _cli(["agencies"], db_env, tmp_path)
    lines = listed.stdout.splitlines()
    assert len(lines) >= 2
    assert all(len(line.split("\t")) == 2 for line in lines)
    assert "HCC-HN\tTrung tâm Phục vụ hành chính công Thành phố Hà Nội" in lines

    made = _cli(["create-api-key", "--agency", "HCC-HN", "--name", "one-stop"], db_env, tmp_path)
    assert made.returncode == 0, made.stderr
    out = made.stdout.splitlines()
    assert out[0].startswith("api_key=pb_") and len(out[0]) > 40
    assert out[1].startswith("webhook_secret=whsec_")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/cb",
        "http://10.1.2.3/cb",
        "http://169.254.169.254/latest",
        "http://[::1]/cb",
        "http://localhost:8080/cb",
    ],
)
def test_private_callback_urls_are_refused_unless_allowed(db_env, tmp_path, url: str) -> None:
    _cli(["migrate"], db_env, tmp_path)
    _cli(["seed-demo"], db_env, tmp_path)
    refused = _cli(["create-api-key", "--agency", "HCC-HN", "--name", "x", "--callback-url", url], db_env, tmp_path)
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "private, loopback or link-local" in refused.stderr
    allowed = _cli(
        ["create-api-key", "--agency", "HCC-HN", "--name", "x", "--callback-url", url],
        {**db_env, "POSTAL_BRIDGE_ALLOW_PRIVATE_CALLBACKS": "1"},
        tmp_path,
    )
    assert allowed.returncode == 0, allowed.stderr


def test_unknown_agency_is_one_clear_line(db_env, tmp_path) -> None:
    _cli(["migrate"], db_env, tmp_path)
    result = _cli(["create-api-key", "--agency", "NOPE", "--name", "x"], db_env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "NOPE" in result.stderr


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("POSTAL_BRIDGE_PORT", "eighty"),
        ("POSTAL_BRIDGE_SANDBOX_STEP_SECONDS", "-1"),
        ("POSTAL_BRIDGE_ALLOW_PRIVATE_CALLBACKS", "maybe"),
        ("POSTAL_BRIDGE_REDIS_URL", "http://x"),
        ("POSTAL_BRIDGE_DATABASE_URL", "mysql://x"),
    ],
)
def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path, var: str, value: str) -> None:
    result = _cli(["agencies"], {var: value}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and var in lines[0]


def test_carrier_settings_store_and_show_masked(db_env, tmp_path) -> None:
    _cli(["migrate"], db_env, tmp_path)
    _cli(["seed-demo"], db_env, tmp_path)
    stored = _cli(
        [
            "carrier-settings",
            "--agency",
            "HCC-HN",
            "--carrier",
            "ghn",
            "base_url=http://ghn.test/api",
            "token=supersecrettoken",
            "shop_id=885",
            "webhook_secret=hook-secret-123",
        ],
        db_env,
        tmp_path,
    )
    assert stored.returncode == 0, stored.stderr
    shown = _cli(["carrier-settings", "--agency", "HCC-HN", "--show"], db_env, tmp_path)
    assert shown.returncode == 0
    line = next(li for li in shown.stdout.splitlines() if li.startswith("ghn\t"))
    assert "enabled" in line and "shop_id=885" in line and "base_url=http://ghn.test/api" in line
    assert "supersecrettoken" not in shown.stdout and "hook-secret-123" not in shown.stdout
    assert "token=****en" in line
    off = _cli(["carrier-settings", "--agency", "HCC-HN", "--carrier", "ghn", "enabled=0"], db_env, tmp_path)
    assert "ghn\tdisabled" in off.stdout
    bad = _cli(["carrier-settings", "--agency", "HCC-HN", "--carrier", "dhl", "x=1"], db_env, tmp_path)
    assert bad.returncode == 1 and "Unknown courier 'dhl'" in bad.stderr


def test_create_user_prints_the_password_once_or_reads_it_from_stdin(db_env, tmp_path) -> None:
    assert _cli(["migrate"], db_env, tmp_path).returncode == 0
    assert _cli(["seed-demo"], db_env, tmp_path).returncode == 0
    made = _cli(["create-user", "--username", "hoa.nt", "--role", "counter", "--agency", "HCC-HN"], db_env, tmp_path)
    assert made.returncode == 0, made.stderr
    [line] = made.stdout.splitlines()
    assert line.startswith("password=") and len(line) > len("password=") + 10

    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTAL_BRIDGE_")}
    env.update({"POSTAL_BRIDGE_INSTANCE_DIR": str(tmp_path / "instance"), **db_env})
    piped = subprocess.run(
        [sys.executable, "-m", "postal_bridge.cli", "create-user", "--username", "clerk.hk", "--role", "clerk",
         "--post-office", "DEMO-HN-01", "--password-stdin"],
        input="a long enough secret\n", env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert "a long enough secret" not in piped.stdout

    refused = _cli(["create-user", "--username", "x1.ok", "--role", "clerk", "--agency", "HCC-HN"], db_env, tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: post_office:")
    again = _cli(["create-user", "--username", "hoa.nt", "--role", "admin", "--agency", "HCC-HN"], db_env, tmp_path)
    assert again.returncode == 1 and "username" in again.stderr


def test_seed_demo_stores_five_dossier_snapshots_for_the_counter(db_env, tmp_path, capsys) -> None:
    from postal_bridge.cli import _print_banner
    from postal_bridge.config import Settings

    assert _cli(["migrate"], db_env, tmp_path).returncode == 0
    seeded = _cli(["seed-demo"], db_env, tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    dossiers = [line.split("\t") for line in seeded.stdout.splitlines() if line.startswith("dossier\t")]
    assert len(dossiers) == 5 and {d[2] for d in dossiers} == {"return", "pickup", "both", "counter"}
    again = _cli(["seed-demo"], db_env, tmp_path)  # idempotent
    assert [line for line in again.stdout.splitlines() if line.startswith("dossier\t")] == [
        "\t".join(d) for d in dossiers
    ]
    from sqlalchemy import create_engine, text

    engine = create_engine(db_env["POSTAL_BRIDGE_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, revision, citizen_id_last4 FROM dossier_snapshots")).all()
    engine.dispose()
    assert sorted(r[0] for r in rows) == sorted(d[1] for d in dossiers) and all(r[1] == 1 for r in rows)
    _print_banner(Settings.from_env({}, instance_dir=tmp_path / "banner"), seeded.stdout)
    banner = capsys.readouterr().out
    assert "Demo dossiers of HCC-HN" in banner and dossiers[0][1] in banner
    assert "dossier " not in banner.split("Demo API users")[1].split("Sign in")[0]  # not listed as API users
