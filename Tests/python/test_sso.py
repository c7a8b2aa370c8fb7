"""IAM Identity Center (SSO) profiles, both layouts, cross-checked with botocore's own SSO
provider on the same ~/.aws/config, the same token cache (~/.aws/sso/cache) and the same fake
portal (AWS_ENDPOINT_URL_SSO): both get the role credentials the portal hands out for the cached
token, and both refuse an expired token (outpostwatch naming `aws sso login --profile NAME`)."""
import datetime
import hashlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import ORDER_1, run_cli, write_config
from test_proxy import no_proxy_env

TOKEN = "sso-access-token-do-not-log"
ROLE_KEY = "ASIASSOROLE000000001"
ROLE_SECRET = "sso-role-secret-do-not-log"


class Portal:
    """The SSO portal's GetRoleCredentials, accepting only TOKEN for account 111122223333."""

    def __init__(self):
        self.calls = []
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                portal.calls.append((url.path, query, self.headers.get("x-amz-sso_bearer_token")))
                if self.headers.get("x-amz-sso_bearer_token") != TOKEN:
                    return self.answer(401, {"message": "Session token not found or invalid"})
                if url.path != "/federation/credentials" or query.get("account_id") != "111122223333":
                    return self.answer(403, {"message": "No access"})
                expiration = int((datetime.datetime.now(datetime.timezone.utc)
                                  + datetime.timedelta(hours=1)).timestamp() * 1000)
                self.answer(200, {"roleCredentials": {"accessKeyId": ROLE_KEY, "secretAccessKey": ROLE_SECRET,
                                                      "sessionToken": "sso-session-token",
                                                      "expiration": expiration}})

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def portal():
    p = Portal()
    yield p
    p.stop()


LAYOUTS = {
    "sso_session": ("[profile ops]\nsso_session = corp\nsso_account_id = 111122223333\n"
                    "sso_role_name = OutpostsRead\nregion = us-west-2\n\n"
                    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
                    "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n", "corp"),
    "legacy": ("[profile ops]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
               "sso_account_id = 111122223333\nsso_role_name = OutpostsRead\nregion = us-west-2\n",
               "https://corp.awsapps.com/start"),
}


def aws_home(tmp_path, layout, expires_in):
    """A HOME with ~/.aws/config in `layout` and the token cache `aws sso login` would write."""
    config, cache_key = LAYOUTS[layout]
    home = tmp_path / "home"
    (home / ".aws/sso/cache").mkdir(parents=True)
    (home / ".aws/config").write_text(config)
    expires = datetime.datetime.now(datetime.timezone.utc) + expires_in
    (home / ".aws/sso/cache" / (hashlib.sha1(cache_key.encode()).hexdigest() + ".json")).write_text(json.dumps({
        "startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": TOKEN,
        "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}))
    return home


def sso_env(home, portal):
    return no_proxy_env(HOME=str(home), AWS_ENDPOINT_URL_SSO=portal.url, AWS_ACCESS_KEY_ID="",
                        AWS_SECRET_ACCESS_KEY="", AWS_SESSION_TOKEN="", AWS_PROFILE="",
                        AWS_CONFIG_FILE=str(home / ".aws/config"),
                        AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws/credentials"))


def botocore_credentials(env):
    """What botocore's credential chain resolves for profile `ops` in `env`: a fresh interpreter,
    since botocore fixes the token cache directory from HOME when it is imported."""
    script = ("import json, botocore.session, botocore.exceptions\n"
              "try:\n"
              "    c = botocore.session.Session(profile='ops').get_credentials().get_frozen_credentials()\n"
              "    print(json.dumps({'access_key': c.access_key, 'secret_key': c.secret_key}))\n"
              "except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:\n"
              "    print(json.dumps({'error': type(e).__name__}))\n")
    full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full.update({k: v for k, v in env.items() if v})
    proc = subprocess.run([sys.executable, "-c", script], env=full, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def config_for(tmp_path, simulator):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", orders=[ORDER_1])
    config.write_text(config.read_text().replace("[aws]\n", '[aws]\nprofile = "ops"\n', 1))
    return config


@pytest.mark.parametrize("layout", ["sso_session", "legacy"])
def test_sso_profile_matches_botocore(binary, simulator, portal, tmp_path, layout):
    pytest.importorskip("botocore")
    home = aws_home(tmp_path, layout, datetime.timedelta(hours=8))
    env = sso_env(home, portal)
    expected = botocore_credentials(env)
    assert expected == {"access_key": ROLE_KEY, "secret_key": ROLE_SECRET}, expected
    botocore_call = portal.calls[-1]
    out = run_cli(binary, "once", "--json", config=config_for(tmp_path, simulator), env=env, check=0)
    assert json.loads(out.stdout), "no transition recorded with the SSO credentials"
    # The same request botocore made: path, role, account and bearer token.
    assert portal.calls[-1] == botocore_call, (portal.calls[-1], botocore_call)
    assert TOKEN not in out.stdout + out.stderr and ROLE_SECRET not in out.stdout + out.stderr


@pytest.mark.parametrize("layout", ["sso_session", "legacy"])
def test_expired_token_is_one_clear_error(binary, simulator, portal, tmp_path, layout):
    pytest.importorskip("botocore")
    home = aws_home(tmp_path, layout, datetime.timedelta(hours=-1))
    env = sso_env(home, portal)
    assert "error" in botocore_credentials(env), "botocore accepted an expired token"
    proc = run_cli(binary, "once", config=config_for(tmp_path, simulator), env=env)
    assert proc.returncode == 1
    assert "aws sso login --profile ops" in proc.stderr, proc.stderr
    assert portal.calls == [], "an expired token must not be sent"
    assert TOKEN not in proc.stdout + proc.stderr
