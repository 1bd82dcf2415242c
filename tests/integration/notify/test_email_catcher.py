"""``make run``'s mail: a local SMTP catcher that keeps each message as an ``.eml`` file, and the
served gateway sending its email there (``python -m gateway.devservers run``, for real)."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from gateway.mailcatcher import MailCatcher
from gateway.settings import Settings
from tests.support import free_port, settings_env

REPO = Path(__file__).resolve().parents[3]


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


async def test_the_catcher_keeps_each_message_as_an_eml_file(tmp_path: Path) -> None:
    said: list[str] = []
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "Hello catcher"
    message.set_content("the body\n")
    folder = tmp_path / "mail"
    with MailCatcher(folder, announce=said.append) as catcher:
        await aiosmtplib.send(message, hostname="127.0.0.1", port=catcher.port, timeout=10)
        await aiosmtplib.send(message, hostname="127.0.0.1", port=catcher.port, timeout=10)
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 2
    assert list(folder.glob("*.part")) == []
    kept = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert kept["Subject"] == "Hello catcher"
    assert "the body" in kept.get_body().get_content()  # type: ignore[union-attr]
    assert said == [f"mail to b@example.org: Hello catcher -> {f}" for f in files]
    assert _refused(catcher.port)  # stopped with the `with`


@pytest.mark.timeout(180)
async def test_make_run_catches_the_gateways_mail(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = settings_env(settings) | {"PYTHONPATH": str(REPO), "GATEWAY_NOTIFY_POLL_SECONDS": "0.2"}
    env.pop("GATEWAY_SMTP_URL", None)
    log = tmp_path / "run.log"
    data_dir = tmp_path / "devdata"
    argv = [sys.executable, "-m", "gateway.devservers", "run", "--port", str(port), "--data-dir", str(data_dir)]
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(*argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for _ in range(600):
                assert process.returncode is None, log.read_text()
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            text = log.read_text()
            assert f"read it in {data_dir / 'mail'}/*.eml" in text, text
            doctor = re.search(r"doctor Dr\. Ada Lovelace \(Europe/Berlin\): ([0-9a-f-]{36})", text)
            kind = re.search(r"appointment type Video consultation \(30 min\): ([0-9a-f-]{36})", text)
            assert doctor and kind, text
            session = (await http.post("/v1/sessions", json={"organisation_slug": "demo"})).json()
            who = {"Authorization": f"Bearer {session['token']}"}
            query = {"appointment_type_id": kind[1]}
            slots = (await http.get(f"/v1/doctors/{doctor[1]}/slots", params=query)).json()["slots"]
            body = {"doctor_id": doctor[1], "appointment_type_id": kind[1], "start": slots[0]["start"]}
            held = (await http.post("/v1/holds", json=body, headers=who)).json()
            r = await http.post(
                f"/v1/holds/{held['hold_id']}/confirm",
                json={"patient": {"name": "Dev Patient", "email": "dev@example.org"}},
                headers={"X-Hold-Token": held["hold_token"], **who},
            )
            assert r.status_code == 201, r.text
        for _ in range(300):
            files = list((data_dir / "mail").glob("*.eml"))
            if files:
                break
            await asyncio.sleep(0.1)
        (kept,) = files
        mail = message_from_bytes(kept.read_bytes(), policy=policy.default)
        assert mail["To"] == "Dev Patient <dev@example.org>"
        assert str(mail["Subject"]).strip().startswith("Booked: Video consultation (30 min) with Dr. Ada Lovelace")
        for _ in range(50):
            if "mail to dev@example.org" in log.read_text():
                break
            await asyncio.sleep(0.1)
        assert f"mail to dev@example.org: {str(mail['Subject']).strip()} -> {kept}" in log.read_text()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
    caught = re.search(r"mail is caught at smtp://127\.0\.0\.1:(\d+)", log.read_text())
    assert caught is not None
    assert _refused(int(caught[1]))  # the catcher stopped with `run`
