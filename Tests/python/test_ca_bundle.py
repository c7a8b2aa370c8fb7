"""Private CAs: AWS_CA_BUNDLE and `[aws] ca_bundle` for AWS requests, `ca_bundle` in a
`[[webhook]]` table for that sink. An https endpoint with a certificate of a CA made here (openssl
CLI) is refused without the bundle and accepted with it; a bad bundle is a clear error."""
import pytest

from conftest import ORDER_1, run_cli, write_config
from network_support import TLSFront, make_test_ca
from test_proxy import no_proxy_env


@pytest.fixture
def ca(tmp_path):
    d = tmp_path / "ca"
    d.mkdir()
    return make_test_ca(d)


def with_aws_ca_bundle(config, path):
    text = config.read_text().replace("[aws]\n", f'[aws]\nca_bundle = "{path}"\n', 1)
    config.write_text(text)
    return config


def test_aws_endpoint_with_private_ca(binary, simulator, ca, tmp_path):
    ca_pem, cert, key = ca
    front = TLSFront(cert, key, simulator.port)
    try:
        config = write_config(tmp_path / "c.toml", front.url(), tmp_path / "s.db", orders=[ORDER_1])
        refused = run_cli(binary, "once", config=config, env=no_proxy_env())
        assert refused.returncode == 1, refused.stderr
        assert "certificate" in refused.stderr.lower() or "tls" in refused.stderr.lower(), refused.stderr
        assert front.handshakes == 0 and front.refused >= 1
        run_cli(binary, "once", config=config, env=no_proxy_env(AWS_CA_BUNDLE=str(ca_pem)), check=0)
        assert front.handshakes >= 1
        # The config key, and it wins over the variable.
        handshakes = front.handshakes
        with_aws_ca_bundle(config, ca_pem)
        run_cli(binary, "once", config=config, env=no_proxy_env(AWS_CA_BUNDLE="/nonexistent/ca.pem"), check=0)
        assert front.handshakes > handshakes
    finally:
        front.stop()


def test_webhook_with_private_ca(binary, receiver, ca, tmp_path):
    ca_pem, cert, key = ca
    front = TLSFront(cert, key, receiver.port)
    try:
        url = front.url() + "/hook"
        config = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", tmp_path / "s.db", orders=[ORDER_1],
                              webhook_url=url)
        refused = run_cli(binary, "test-sink", "ops", config=config, env=no_proxy_env())
        assert refused.returncode != 0
        assert not receiver.requests
        trusted = write_config(tmp_path / "t.toml", "http://127.0.0.1:9", tmp_path / "s.db", orders=[ORDER_1],
                               webhook_url=url, webhook_extra=f'ca_bundle = "{ca_pem}"')
        out = run_cli(binary, "test-sink", "ops", config=trusted, env=no_proxy_env(), check=0)
        assert "delivered" in out.stdout
        assert len(receiver.requests) == 1
        # The AWS bundle is not the sink's: AWS_CA_BUNDLE alone does not make the webhook trusted.
        again = run_cli(binary, "test-sink", "ops", config=config, env=no_proxy_env(AWS_CA_BUNDLE=str(ca_pem)))
        assert again.returncode != 0
    finally:
        front.stop()


@pytest.mark.parametrize("content, reason", [(None, "does not exist"), (b"not a certificate\n", "PEM"),
                                             (b"", "PEM")])
def test_bad_bundle_is_a_configuration_error(binary, tmp_path, content, reason):
    bundle = tmp_path / "bundle.pem"
    if content is not None:
        bundle.write_bytes(content)
    config = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", tmp_path / "s.db", orders=[ORDER_1])
    proc = run_cli(binary, "once", config=config, env=no_proxy_env(AWS_CA_BUNDLE=str(bundle)))
    assert proc.returncode == 78, proc.stderr
    assert f"CA bundle {bundle}" in proc.stderr and reason in proc.stderr, proc.stderr
    hook = write_config(tmp_path / "h.toml", "http://127.0.0.1:9", tmp_path / "s.db", orders=[ORDER_1],
                        webhook_url="https://localhost:9/hook", webhook_extra=f'ca_bundle = "{bundle}"')
    proc = run_cli(binary, "test-sink", "ops", config=hook, env=no_proxy_env())
    assert proc.returncode == 78, proc.stderr
    assert 'webhook "ops": ca_bundle: CA bundle' in proc.stderr and reason in proc.stderr, proc.stderr
    # check-config reads the bundles as the daemon does, so it catches them first.
    proc = run_cli(binary, "check-config", config=hook, env=no_proxy_env())
    assert proc.returncode == 78, proc.stderr
    assert f'{hook}: webhook "ops": ca_bundle: CA bundle {bundle}' in proc.stderr and reason in proc.stderr, proc.stderr


def test_pagerduty_with_private_ca(binary, ca, tmp_path):
    """`ca_bundle` in a `[[pagerduty]]` table: the same rule as a webhook's."""
    from aws_fakes import FakePagerDuty
    from aws_fakes import PAGERDUTY_KEY as routing_key
    ca_pem, cert, key = ca
    pd = FakePagerDuty(routing_key)
    front = TLSFront(cert, key, pd.port)
    try:
        (tmp_path / "pd.key").write_text(routing_key)
        table = (f'[[pagerduty]]\nname = "oncall"\nrouting_key_file = "{tmp_path / "pd.key"}"\n'
                 f'url = "{front.url()}/v2/enqueue"\n')
        config = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", tmp_path / "s.db", orders=[ORDER_1],
                              extra=table)
        refused = run_cli(binary, "test-sink", "oncall", config=config, env=no_proxy_env())
        assert refused.returncode != 0 and not pd.accepted
        trusted = write_config(tmp_path / "t.toml", "http://127.0.0.1:9", tmp_path / "s.db", orders=[ORDER_1],
                               extra=table + f'ca_bundle = "{ca_pem}"\n')
        out = run_cli(binary, "test-sink", "oncall", config=trusted, env=no_proxy_env(), check=0)
        assert "delivered" in out.stdout and len(pd.accepted) == 1
    finally:
        front.stop()
        pd.stop()
