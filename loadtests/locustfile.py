"""Locust swarms against any gateway: patients watching and booking, doctors following their day.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --admin-token TOKEN
    (or GATEWAY_ADMIN_TOKEN in the environment; web UI on http://127.0.0.1:8089)

``make load`` runs it headless against a local gateway it starts (``loadtests/run_load.py``).

On test start the swarm creates its own organisation through the admin API: ``--swarm-doctors``
doctors open around the clock (UTC), a 30-minute type whose holds live ``--hold-ttl`` seconds,
and a credential per doctor. So it needs nothing but the platform token and works on any host.

Users:

* :class:`Watcher`: holds one doctor's SSE stream open (``/v1/doctors/{id}/events``) and reports
  each event's hold -> event latency (arrival minus the event's ``ts``) as a locust request of
  type ``SSE``; reconnects with ``Last-Event-ID`` when a stream ends.
* :class:`Booker`: a patient session, then slots -> hold -> confirm, with think time; half of
  the picks go for the first free slots of the most popular doctor (contention: a 409
  ``slot_taken`` is an expected answer, not a failure); some holds are released, some abandoned
  (they lapse after ``--hold-ttl`` seconds).
* :class:`Doctor`: a doctor credential; ``GET /v1/appointments`` of their own schedule now and
  then, and their SSE stream in the background.

After the test stops, the holds the swarm was given are written to ``--holds-file`` and, when
the gateway's stores are reachable from here (``DATABASE_URL``, ``GATEWAY_DB_SCHEMA``,
``REDIS_URL``, ``GATEWAY_REDIS_PREFIX`` set, as ``make load`` does), ``loadtests/consistency.py``
runs and prints its verdict; a failed check makes locust exit non-zero. In distributed mode every
worker sets up and checks its own organisation.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import gevent
import requests
from locust import FastHttpUser, User, between, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner

STORE_VARIABLES = ("DATABASE_URL", "GATEWAY_DB_SCHEMA", "REDIS_URL", "GATEWAY_REDIS_PREFIX")
DEFAULT_HOLDS_FILE = os.path.join(tempfile.gettempdir(), "swarm-holds.txt")


class Swarm:
    """What on_test_start created, and what the users record (one per locust process)."""

    def __init__(self) -> None:
        self.slug = ""
        self.type_id = ""
        self.doctors: list[str] = []
        self.doctor_tokens: dict[str, str] = {}
        self.holds: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def record_hold(self, doctor: str, hold_id: str) -> None:
        with self.lock:
            self.holds.append((doctor, hold_id))


SWARM = Swarm()


def _options(parser: Any) -> None:
    parser.add_argument(
        "--admin-token", default=os.environ.get("GATEWAY_ADMIN_TOKEN", ""), is_secret=True,
        help="the gateway's platform token (GATEWAY_ADMIN_TOKEN), to set up the swarm's clinic",
    )  # fmt: skip
    parser.add_argument("--swarm-doctors", type=int, default=3, help="doctors in the swarm's clinic")
    parser.add_argument("--hold-ttl", type=int, default=int(os.environ.get("LOAD_HOLD_TTL", "15")),
                        help="seconds an abandoned hold lives (10..7200)")  # fmt: skip
    parser.add_argument("--holds-file", default=os.environ.get("LOAD_HOLDS_FILE", DEFAULT_HOLDS_FILE),
                        help="where the holds the swarm made are written for the consistency check")  # fmt: skip


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _set_up(environment: Environment, **_: Any) -> None:
    """Create the swarm's organisation, doctors, type and doctor credentials (admin API)."""
    if isinstance(environment.runner, MasterRunner):
        return  # the workers set up their own
    options = environment.parsed_options
    token = getattr(options, "admin_token", "") or os.environ.get("GATEWAY_ADMIN_TOKEN", "")
    if not token:
        raise RuntimeError("the swarm needs the platform token: --admin-token or GATEWAY_ADMIN_TOKEN")
    admin = {"Authorization": f"Bearer {token}"}
    host = (environment.host or "").rstrip("/")

    def created(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = requests.post(f"{host}{path}", json=body, headers=admin, timeout=30)
        if r.status_code != 201:
            raise RuntimeError(f"setting up the swarm: POST {path} answered {r.status_code}: {r.text[:300]}")
        answer: dict[str, Any] = r.json()
        return answer

    SWARM.slug = f"swarm-{uuid.uuid4().hex[:8]}"
    org = created("/v1/admin/organisations", {"name": "Swarm clinic", "slug": SWARM.slug})["id"]
    SWARM.doctors, SWARM.doctor_tokens, SWARM.holds = [], {}, []
    for n in range(getattr(options, "swarm_doctors", 3)):
        doctor = created("/v1/admin/doctors", {"organisation_id": org, "name": f"Dr. Swarm {n}", "timezone": "UTC"})
        for weekday in range(1, 8):
            created(
                f"/v1/doctors/{doctor['id']}/availability-windows",
                {"weekday": weekday, "start_minute": 0, "end_minute": 1440},
            )
        SWARM.doctors.append(doctor["id"])
        SWARM.doctor_tokens[doctor["id"]] = created(f"/v1/admin/doctors/{doctor['id']}/credentials", {})["token"]
    SWARM.type_id = created(
        "/v1/admin/appointment-types",
        {
            "organisation_id": org, "name": "Swarm 30 min", "duration_minutes": 30, "max_advance_days": 30,
            "hold_ttl_seconds": getattr(options, "hold_ttl", 15),
        },
    )["id"]  # fmt: skip


def _check(environment: Environment, **_: Any) -> None:
    """Write the holds the swarm made and run the consistency check when the stores are reachable."""
    if isinstance(environment.runner, MasterRunner) or not SWARM.doctors:
        return
    path = getattr(environment.parsed_options, "holds_file", DEFAULT_HOLDS_FILE)
    with SWARM.lock, open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{doctor} {hold}\n" for doctor, hold in SWARM.holds)
    print(f"\nswarm: {len(SWARM.holds)} holds made, written to {path}", flush=True)
    if not all(os.environ.get(name) for name in STORE_VARIABLES):
        print(f"consistency: skipped (set {', '.join(STORE_VARIABLES)} to check the gateway's stores)", flush=True)
        return
    settle = str(getattr(environment.parsed_options, "hold_ttl", 15) + 3)
    command = [sys.executable, "-m", "loadtests.consistency", "--holds", path, "--settle", settle]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    print(done.stdout + done.stderr, flush=True)
    if done.returncode != 0:
        environment.process_exit_code = 1


# registered by hand: locust's decorators are untyped, which mypy --strict refuses
events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_set_up)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_check)  # type: ignore[no-untyped-call]


def follow_stream(user: User, doctor: str, name: str) -> None:
    """Read a doctor's SSE stream for as long as the user lives; fire one SSE sample per event."""
    fire = user.environment.events.request.fire
    last_id: str | None = None
    url = f"{user.host}/v1/doctors/{doctor}/events"
    while True:
        began = time.perf_counter()
        headers = {"Accept": "text/event-stream"} | ({"Last-Event-ID": last_id} if last_id else {})
        try:
            with requests.get(url, headers=headers, stream=True, timeout=(10, 60)) as r:
                fire(request_type="GET", name="/v1/doctors/[id]/events (open)", response_length=0, context={},
                     response_time=(time.perf_counter() - began) * 1000,
                     exception=None if r.status_code == 200 else RuntimeError(f"status {r.status_code}"))  # fmt: skip
                if r.status_code != 200:
                    gevent.sleep(1)
                    continue
                buffer = b""
                for chunk in r.iter_content(chunk_size=None):
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if line.startswith(b"id: "):
                            last_id = line[4:].decode()
                        elif line.startswith(b"data: "):
                            event = json.loads(line[6:])
                            fire(request_type="SSE", name=name, response_length=len(line), context={},
                                 response_time=time.time() * 1000 - event["ts"], exception=None)  # fmt: skip
        except requests.RequestException as exc:
            fire(request_type="SSE", name=f"{name} (stream broke)", response_time=0, response_length=0,
                 context={}, exception=exc)  # fmt: skip
            gevent.sleep(1)


class Watcher(User):
    """A patient with a booking page open: one doctor's live stream."""

    weight = 3
    wait_time = constant(1)

    @task
    def watch(self) -> None:
        if SWARM.doctors:
            follow_stream(self, random.choice(SWARM.doctors), "hold→event (watcher)")


class Booker(FastHttpUser):
    """A patient booking: session, slots, hold, then confirm, release or walk away."""

    weight = 6
    wait_time = between(1, 3)

    def on_start(self) -> None:
        r = self.client.post("/v1/sessions", json={"organisation_slug": SWARM.slug})
        self.patient = {"Authorization": f"Bearer {r.json()['token']}"} if r.status_code == 201 else {}

    @task
    def book(self) -> None:
        if not SWARM.doctors or not self.patient:
            return
        # half the patients want the first slots of the most popular doctor
        popular = random.random() < 0.5
        doctor = SWARM.doctors[0] if popular else random.choice(SWARM.doctors)
        now = datetime.now(UTC)
        query = f"appointment_type_id={SWARM.type_id}&from={_iso(now)}&to={_iso(now + timedelta(days=2))}"
        r = self.client.get(f"/v1/doctors/{doctor}/slots?{query}", name="/v1/doctors/[id]/slots")
        slots = r.json().get("slots", []) if r.status_code == 200 else []
        if not slots:
            return
        slot = random.choice(slots[:3] if popular else slots)
        body = {"doctor_id": doctor, "appointment_type_id": SWARM.type_id, "start": slot["start"]}
        with self.client.post("/v1/holds", json=body, headers=self.patient, catch_response=True) as held:
            if held.status_code == 409:
                held.success()  # lost the race for the slot: the answer the contention expects
                return
            if held.status_code != 201:
                held.failure(f"hold answered {held.status_code}")
                return
            hold = held.json()
        SWARM.record_hold(doctor, hold["hold_id"])
        gevent.sleep(random.uniform(0.5, 2.0))  # filling in the form
        owner = {"X-Hold-Token": hold["hold_token"]} | self.patient
        choice = random.random()
        if choice < 0.6:
            patient = {"name": "Swarm Patient", "email": f"p{random.randrange(10**6)}@example.org"}
            with self.client.post(f"/v1/holds/{hold['hold_id']}/confirm", json={"patient": patient}, headers=owner,
                                  name="/v1/holds/[id]/confirm", catch_response=True) as confirmed:  # fmt: skip
                if confirmed.status_code in (409, 410):
                    confirmed.success()  # the hold lapsed meanwhile (a slow patient): expected
        elif choice < 0.8:
            self.client.delete(f"/v1/holds/{hold['hold_id']}", headers=owner, name="/v1/holds/[id]")
        # else: the patient walks away and the hold lapses


class Doctor(FastHttpUser):
    """A doctor following their schedule: the appointment list now and then, the live stream always."""

    weight = 1
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.doctor = random.choice(SWARM.doctors) if SWARM.doctors else ""
        self.auth = {"Authorization": f"Bearer {SWARM.doctor_tokens.get(self.doctor, '')}"}
        self.stream = gevent.spawn(follow_stream, self, self.doctor, "hold→event (doctor)") if self.doctor else None

    def on_stop(self) -> None:
        if self.stream is not None:
            self.stream.kill(block=False)

    @task
    def schedule(self) -> None:
        if self.doctor:
            self.client.get(f"/v1/appointments?doctor_id={self.doctor}", headers=self.auth, name="/v1/appointments")
