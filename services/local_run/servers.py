"""Start and stop the real servers the shop needs locally, each on a free 127.0.0.1 port.

- `RedisServer`: Debian's redis-server with TLS (a throwaway CA made with `cryptography`) and
  `requirepass`, no persistence.
- `PostgresServer`: `initdb` into a temporary directory and `pg_ctl start`, as the `postgres` user
  when we are root (PostgreSQL refuses to run as root), password (SCRAM) authentication.
- `AppProcess`: a Python process (uvicorn app, the cart gateway, checkout) that answers GET /health.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = os.pathsep.join(str(p) for p in (ROOT, ROOT / "functions", ROOT / "services" / "catalog",
                                               ROOT / "services" / "checkout"))
GATEWAY_HEALTH_PATH = "/_gateway/health"
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class ServerUnavailable(RuntimeError):
    """The package that provides a server is missing or lacks a needed feature (the message names it)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


def stop_process(process: subprocess.Popen, timeout: float = 5) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- TLS material


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1 signed by it.

    Key identifiers on both: Python 3.13 (Lambda's runtime, and the twin's) verifies with X509_STRICT,
    which refuses a chain without the Authority Key Identifier."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "serverless-blueprints test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    files.key.chmod(0o600)
    return files


# ---------------------------------------------------------------- Redis


@dataclass
class RedisServer:
    """redis-server on a free port with TLS and a password. `start()` raises ServerUnavailable
    when the redis-server package is missing or was built without TLS."""

    directory: Path
    password: str = "local-redis-auth-token-0123456789"
    port: int = 0
    tls: TlsFiles | None = None
    process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerUnavailable("redis-server is not installed (Debian package `redis-server`)")
        self.tls = self.tls or make_tls_files(self.directory / "tls")
        self.port = self.port or free_port()
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1",
             "--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key),
             "--tls-ca-cert-file", str(self.tls.ca), "--tls-auth-clients", "no",
             "--requirepass", self.password, "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port, 10, self.process, "redis-server")
        except RuntimeError:
            text = (self.directory / "redis.log").read_text(errors="replace")
            if "tls" in text.lower():
                raise ServerUnavailable(f"this redis-server (Debian package `redis-server`) has no TLS support: {text[-300:]}") from None
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def env(self) -> dict[str, str]:
        """What cart_api reads to reach this server (the password travels via Secrets Manager)."""
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.port), "REDIS_TLS": "true",
                "REDIS_CA_FILE": str(self.tls.ca)}


# ---------------------------------------------------------------- PostgreSQL


def _pg_tool(name: str) -> str:
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise ServerUnavailable(f"{name} is not installed (Debian package `postgresql`)")
    return found


@dataclass
class PostgresServer:
    """A throwaway cluster: `initdb` into `directory`, `pg_ctl start` on a free port, SCRAM passwords."""

    directory: Path
    password: str = "local-postgres-password"
    user: str = "postgres"
    port: int = 0
    _as_user: list[str] = field(default_factory=list)

    def start(self) -> PostgresServer:
        initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
        self.port = self.port or free_port()
        data = self.directory / "data"
        self.directory.mkdir(parents=True, exist_ok=True)
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            import pwd

            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable("no `postgres` user to run the server as (Debian package `postgresql`)") from None
            for path in (self.directory, pwfile):
                os.chown(path, account.pw_uid, account.pw_gid)
            # the user must be able to reach the directory through its parents
            parent = self.directory.parent
            parent.chmod(parent.stat().st_mode | 0o711)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        run = subprocess.run(
            [*self._as_user, initdb, "-D", str(data), "-U", self.user, "--pwfile", str(pwfile),
             "-A", "scram-sha-256", "-E", "UTF8", "--no-sync", "--no-instructions"],
            capture_output=True, text=True,
        )
        if run.returncode != 0:
            raise RuntimeError(f"initdb failed: {run.stderr[-500:]}")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        run = subprocess.run(
            [*self._as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(self.directory / "postgres.log"),
             "-w", "-t", "30", "start"],
            capture_output=True, text=True,
        )
        if run.returncode != 0:
            log = (self.directory / "postgres.log")
            raise RuntimeError(f"pg_ctl start failed: {run.stderr[-300:]} {log.read_text()[-500:] if log.exists() else ''}")
        return self

    def stop(self) -> None:
        data = self.directory / "data"
        if data.exists():
            subprocess.run([*self._as_user, _pg_tool("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True)

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def env(self, database: str) -> dict[str, str]:
        """What checkout reads to reach this server with a password (DB_IAM_AUTH unset)."""
        return {"DB_HOST": "127.0.0.1", "DB_PORT": str(self.port), "DB_NAME": database, "DB_USER": self.user,
                "DB_PASSWORD": self.password, "DB_SSLMODE": "prefer"}


# ---------------------------------------------------------------- app processes


@dataclass
class AppProcess:
    """A Python server process started with the repository on PYTHONPATH, ready once /health answers."""

    args: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    health_path: str = "/health"
    process: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> AppProcess:
        env = {**os.environ, **self.env, "PYTHONPATH": PYTHONPATH}
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen([sys.executable, *self.args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                        cwd=ROOT)
        wait_for_port(self.port, timeout, self.process, " ".join(self.args[:3]))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}{self.health_path}", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def uvicorn_app(app: str, port: int, env: dict[str, str], log_path: Path) -> AppProcess:
    return AppProcess(["-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                       "--log-level", "warning"], env, port, log_path)


def cart_gateway(port: int, env: dict[str, str], log_path: Path) -> AppProcess:
    return AppProcess(["-m", "services.local_run.rest_gateway", "--port", str(port)], env, port, log_path,
                      health_path=GATEWAY_HEALTH_PATH)


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
