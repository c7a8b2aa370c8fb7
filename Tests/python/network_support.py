"""Real network parts for the proxy and private-CA tests: a tinyproxy (Debian's) on loopback,
a test CA made with the openssl CLI, and a TLS front (Python's ssl) that terminates https with a
certificate of that CA and relays the bytes to a plain-http server (the simulator, a receiver)."""
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

from conftest import free_port, need, wait_for


class TinyProxy:
    """Debian's tinyproxy in the foreground on a free loopback port, logging every request."""

    def __init__(self, workdir, username=None, password=None):
        need(shutil.which("tinyproxy"), "tinyproxy (make deps installs it)")
        self.port = free_port()
        self.log = Path(workdir) / "tinyproxy.log"
        conf = Path(workdir) / "tinyproxy.conf"
        lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", f'LogFile "{self.log}"',
                 "LogLevel Info", "MaxClients 50", "Allow 127.0.0.1", "DisableViaHeader Yes"]
        if username:
            lines.append(f"BasicAuth {username} {password}")
        # No ConnectPort line: CONNECT to any port (the test servers' ports are random).
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        wait_for(self.listening, timeout=10, what="tinyproxy listening")
        self.url = f"http://127.0.0.1:{self.port}"

    def listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"tinyproxy exited: {self.proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def requests(self):
        """The request lines tinyproxy logged (`CONNECT host:port HTTP/1.1`, `GET http://…`)."""
        text = self.log.read_text(errors="replace")
        return re.findall(r"Request \(file descriptor \d+\): (.*)", text)

    def stop(self):
        # Nothing to flush: its log is written line by line.
        self.proc.kill()
        self.proc.wait()


def make_test_ca(workdir, name="outpostwatch test CA"):
    """A CA and a server certificate for localhost/127.0.0.1 signed by it, with the openssl CLI.
    Returns (ca_pem, server_cert, server_key)."""
    need(shutil.which("openssl"), "the openssl command")
    d = Path(workdir)
    ca_key, ca_pem = d / "ca.key", d / "ca.pem"
    key, csr, cert, ext = d / "server.key", d / "server.csr", d / "server.pem", d / "server.ext"

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_pem),
            "-days", "2", "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return ca_pem, cert, key


class TLSFront:
    """Terminates TLS on a free loopback port with `cert`/`key` and relays each connection, byte
    for byte, to a plain-http server on `target_port`. Counts the handshakes that completed."""

    def __init__(self, cert, key, target_port):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.target_port = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.refused = 0
        self.stopped = False
        threading.Thread(target=self.accept, daemon=True).start()

    def url(self, host="localhost"):
        return f"https://{host}:{self.port}"

    def accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.refused += 1   # the client did not trust us (or gave up)
            conn.close()
            return
        self.handshakes += 1
        upstream = socket.create_connection(("127.0.0.1", self.target_port))

        def pipe(src, dst):
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pipe, args=(upstream, tls), daemon=True).start()
        pipe(tls, upstream)

    def stop(self):
        self.stopped = True
        self.sock.close()
