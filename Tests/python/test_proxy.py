"""HTTPS_PROXY / HTTP_PROXY / NO_PROXY against a real forward proxy (Debian's tinyproxy, started
here on loopback): every AWS request and every sink request goes through it when configured,
none under NO_PROXY; proxy credentials travel as Proxy-Authorization and never show up in what
outpostwatch prints."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ORDER_1, run_cli, write_config
from network_support import TinyProxy, TLSFront, make_test_ca

PROXY_USER, PROXY_PASSWORD = "owproxy", "proxy-Pa55-do-not-log"


@pytest.fixture
def proxy(tmp_path):
    workdir = tmp_path / "proxy"
    workdir.mkdir()
    p = TinyProxy(workdir)
    yield p
    p.stop()


@pytest.fixture
def authenticating_proxy(tmp_path):
    workdir = tmp_path / "auth-proxy"
    workdir.mkdir()
    p = TinyProxy(workdir, username=PROXY_USER, password=PROXY_PASSWORD)
    yield p
    p.stop()


def no_proxy_env(**extra):
    """The test's environment without any proxy or CA variable of the host, plus `extra`."""
    env = {name: "" for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
                                 "no_proxy", "AWS_CA_BUNDLE")}
    env.update(extra)
    return env


def test_aws_and_webhook_requests_go_through_http_proxy(binary, simulator, receiver, proxy, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", orders=[ORDER_1],
                          webhook_url=receiver.url)
    run_cli(binary, "once", config=config, env=no_proxy_env(HTTP_PROXY=proxy.url), check=0)
    run_cli(binary, "test-sink", "ops", config=config, env=no_proxy_env(http_proxy=proxy.url), check=0)
    seen = proxy.requests()
    assert any(f"127.0.0.1:{simulator.port}" in line for line in seen), seen
    assert any(f"127.0.0.1:{receiver.port}" in line for line in seen), seen
    assert receiver.requests, "the webhook did not arrive through the proxy"


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "localhost,127.0.0.0/8", "example.com, 127.0.0.1"])
def test_no_proxy_connects_directly(binary, simulator, receiver, proxy, tmp_path, no_proxy):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", orders=[ORDER_1],
                          webhook_url=receiver.url)
    env = no_proxy_env(HTTP_PROXY=proxy.url, HTTPS_PROXY=proxy.url, NO_PROXY=no_proxy)
    run_cli(binary, "once", config=config, env=env, check=0)
    run_cli(binary, "test-sink", "ops", config=config, env=env, check=0)
    assert proxy.requests() == []
    assert simulator.stats().get("operations", {}).get("GetOrder", {}).get("calls"), "the poll did not reach the simulator directly"


def test_no_proxy_host_suffix(binary, simulator, proxy, tmp_path):
    # localhost.localdomain-style suffix matching: `.localhost` and `localhost` both cover localhost.
    url = simulator.url.replace("127.0.0.1", "localhost")
    config = write_config(tmp_path / "c.toml", url, tmp_path / "s.db", orders=[ORDER_1])
    run_cli(binary, "once", config=config, env=no_proxy_env(HTTP_PROXY=proxy.url, no_proxy=".localhost"), check=0)
    assert proxy.requests() == []
    run_cli(binary, "once", config=config, env=no_proxy_env(HTTP_PROXY=proxy.url, no_proxy="otherhost"), check=0)
    assert any(f"localhost:{simulator.port}" in line for line in proxy.requests())


def test_https_requests_are_tunnelled_with_connect(binary, simulator, proxy, tmp_path):
    ca, cert, key = make_test_ca(tmp_path)
    front = TLSFront(cert, key, simulator.port)
    try:
        config = write_config(tmp_path / "c.toml", front.url(), tmp_path / "s.db", orders=[ORDER_1])
        run_cli(binary, "once", config=config, env=no_proxy_env(HTTPS_PROXY=proxy.url, AWS_CA_BUNDLE=str(ca)),
                check=0)
    finally:
        front.stop()
    assert f"CONNECT localhost:{front.port} HTTP/1.1" in proxy.requests(), proxy.requests()
    assert front.handshakes >= 1


def test_proxy_credentials_are_sent_and_never_printed(binary, simulator, authenticating_proxy, tmp_path):
    config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", orders=[ORDER_1])
    with_credentials = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{authenticating_proxy.port}"
    ok = run_cli(binary, "once", "--json", config=config, env=no_proxy_env(HTTP_PROXY=with_credentials), check=0)
    assert json.loads(ok.stdout), "no transition through the authenticating proxy"
    # Without them the proxy refuses (407) and the poll fails, saying why.
    refused = run_cli(binary, "once", config=config, env=no_proxy_env(HTTP_PROXY=authenticating_proxy.url))
    assert refused.returncode == 1
    assert "proxy" in refused.stderr.lower(), refused.stderr
    # A wrong password: refused as well, and the password is in no output.
    wrong = f"http://{PROXY_USER}:wrong-{PROXY_PASSWORD}@127.0.0.1:{authenticating_proxy.port}"
    failed = run_cli(binary, "once", config=config, env=no_proxy_env(HTTP_PROXY=wrong))
    assert failed.returncode == 1
    for proc in (ok, refused, failed):
        assert PROXY_PASSWORD not in proc.stdout + proc.stderr


def test_unusable_proxy_variable_is_a_configuration_error(binary, tmp_path):
    config = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", tmp_path / "s.db", orders=[ORDER_1])
    proc = run_cli(binary, "once", config=config,
                   env=no_proxy_env(HTTPS_PROXY=f"socks5://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:1080"))
    assert proc.returncode == 78, proc.stderr
    assert "HTTPS_PROXY" in proc.stderr and "only http://" in proc.stderr
    assert PROXY_PASSWORD not in proc.stderr


def test_container_credentials_never_go_through_the_proxy(binary, simulator, proxy, tmp_path):
    hits = []

    class Credentials(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = json.dumps({"AccessKeyId": "AKIDCONTAINER0000001", "SecretAccessKey": "container-secret",
                               "Token": "container-token", "Expiration": "2099-01-01T00:00:00Z"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Credentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = write_config(tmp_path / "c.toml", simulator.url, tmp_path / "s.db", orders=[ORDER_1])
        env = no_proxy_env(HTTP_PROXY=proxy.url, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="",
                           AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{server.server_address[1]}/creds")
        run_cli(binary, "once", config=config, env=env, check=0)
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/creds"]
    seen = proxy.requests()
    assert any(f"127.0.0.1:{simulator.port}" in line for line in seen), seen
    assert not any(str(server.server_address[1]) in line for line in seen), seen
