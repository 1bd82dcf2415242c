"""The ``gateway`` command: migrate, serve, worker, demo."""

from __future__ import annotations

import argparse
import asyncio
import sys

from gateway import logs
from gateway.settings import Settings


def _migrate(settings: Settings) -> int:
    from store.migrate import migrate

    applied = asyncio.run(migrate(settings.database))
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("database is up to date")
    return 0


def _demo(settings: Settings) -> int:
    from gateway.demo import seed

    demo = asyncio.run(seed(settings))
    base = settings.public_url
    print(f"demo organisation (slug demo): {demo.organisation_id}")
    print(f"  clinic page: {base}/clinic/demo")
    for type_id, name in demo.types:
        print(f"  appointment type {name}: {type_id}")
    first_type = demo.types[0][0]
    for doctor_id, name, tz in demo.doctors:
        print(f"  doctor {name} ({tz}): {doctor_id}")
        print(f"    booking page: {base}/book/{doctor_id}?appointment_type_id={first_type}")
        print(f"    free slots:   {base}/v1/doctors/{doctor_id}/slots?appointment_type_id={first_type}")
    print(f"OpenAPI: {base}/schema/openapi.json   health: {base}/healthz")
    return 0


def _worker(settings: Settings) -> int:
    """Deliver the outbox and due reminders, without serving HTTP, until SIGTERM or SIGINT."""
    import signal

    from gateway.notify.assembly import build_worker
    from store.pool import open_pool

    async def run() -> None:
        db = await open_pool(settings.database)
        worker = build_worker(settings, db)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        worker.start()
        print(f"gateway worker: delivering through {', '.join(worker.channels) or 'no channel (none configured)'}")
        try:
            await stop.wait()
        finally:
            await worker.stop()
            await db.close()

    asyncio.run(run())
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import os

    import uvicorn

    from gateway import logs

    if args.no_worker:
        os.environ["GATEWAY_NOTIFY_WORKER"] = "off"  # read by each served process's settings

    uvicorn.run(
        "gateway.app:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        # the request middleware logs one line per request, with its id (gateway/logs.py)
        access_log=False,
        proxy_headers=True,
        log_config=logs.config(settings.log_format, args.log_level),  # every process uvicorn starts
        # uvicorn's httptools protocol, sending each response's head and body in one write
        # (gateway/serving.py: two writes per answer were a fifth of a worker's CPU on holds)
        http="gateway.serving:GatewayHttpProtocol",
        # SIGTERM: stop accepting, close live streams, and exit within 5 s.
        timeout_graceful_shutdown=4,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gateway`` console script."""
    parser = argparse.ArgumentParser(prog="gateway", description="Real-time booking gateway for telehealth clinics.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply every pending migration to DATABASE_URL (safe to run twice)")
    sub.add_parser("demo", help="seed the demo clinic (organisation slug demo) and print its ids and URLs")
    serve = sub.add_parser("serve", help="serve the gateway with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--no-worker", action="store_true", help="do not deliver the outbox here (run `gateway worker` elsewhere)"
    )
    sub.add_parser("worker", help="deliver the outbox (email, SMS, webhooks) and due reminders, without HTTP")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    logs.setup(settings.log_format)
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "demo":
        return _demo(settings)
    if problem := settings.secret_key_problem():
        # anyone who knows (or guesses) the key mints patient sessions of every organisation
        print(f"gateway: refusing to serve: {problem}", file=sys.stderr)
        return 2
    if args.command == "worker":  # it signs manage links and opens webhook secrets with the key
        return _worker(settings)
    return _serve(args, settings)
