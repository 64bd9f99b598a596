"""The quickstart's serve script on a fresh instance folder: it migrates, seeds the
demo and serves French pages with the health warning."""

from __future__ import annotations

import html
import os
import re
import subprocess
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
HEALTH_WARNING = "L'abus d'alcool est dangereux pour la santé, à consommer avec modération."


def test_the_serve_script_sets_up_an_empty_instance_and_serves_the_demo(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAI_") and k != "DATABASE_URL"}
    env.update(CHAI_INSTANCE_PATH=str(tmp_path), CHAI_PORT=str(port), CHAI_SKIP_INSTALL="1",
               PYTHONUNBUFFERED="1")
    process = subprocess.Popen([str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    try:
        for line in process.stdout:  # the script prints the URL once the socket is bound
            output.append(line)
            if line.startswith("Chai : http://"):
                break
        else:
            raise AssertionError("the server did not start:\n" + "".join(output))
        printed = "".join(output)
        assert "vigneron@vernette.example" in printed and "chai-demo-2026" in printed
        assert "simulateur Mangopay local (mode test)" in printed
        assert (tmp_path / "chai.sqlite3").exists() and (tmp_path / "secret_key").exists()

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        base = f"http://127.0.0.1:{port}"
        age_page = opener.open(base + "/").read().decode()  # redirected to the age gate
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', age_page).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, "answer": "yes", "next": "/"}).encode()
        with opener.open(base + "/age", data=data) as response:
            assert response.status == 200
            home = html.unescape(response.read().decode())
        assert "Achetez directement aux vignerons" in home and HEALTH_WARNING in home
        for slug, name in [("domaine-de-la-vernette", "Domaine de la Vernette"), ("domaine-rozel", "Domaine Rozel")]:
            with opener.open(f"{base}/{slug}/") as response:
                assert response.status == 200
                page = html.unescape(response.read().decode())
            assert name in page and HEALTH_WARNING in page and "Conditions de vente" in page
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_processes_starting_together_on_a_fresh_instance_share_one_secret_key(tmp_path):
    """Four gunicorn workers booting at once must agree on the key that signs sessions."""
    import sys
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(4) as pool:
        keys = list(pool.map(_secret_key_of_a_new_app, [str(tmp_path)] * 8))
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in tmp_path.iterdir() if "secret" in p.name] == ["secret_key"]
    assert sys.platform != "linux" or oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def _secret_key_of_a_new_app(instance: str) -> str:
    from app import create_app

    return create_app({"INSTANCE_PATH": instance, "SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
