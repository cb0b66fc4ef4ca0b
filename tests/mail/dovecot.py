"""A real Dovecot IMAP server for tests: Debian's /usr/sbin/dovecot, unprivileged, everything in a temp dir.

Dovecot runs as the current user; as root (CI) it is started as `nobody`, because Dovecot refuses to
run its login processes or serve mail as root. Its config, users, maildirs, sockets, state and log all
live in one temporary directory, it listens on ephemeral loopback ports only, and it is stopped at exit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import imaplib
import ipaddress
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import service_unavailable

DOVECOT = os.environ.get("KEFU_TEST_DOVECOT", "/usr/sbin/dovecot")
# Accounts per server; each test takes fresh ones.
USERS = 400


def require_dovecot() -> None:
    """Skip (laptop) or fail (CI, KEFU_REQUIRE_SERVICES=1) when Dovecot is not installed."""
    if not os.access(DOVECOT, os.X_OK):
        service_unavailable("Dovecot", f"{DOVECOT} missing (apt-get install dovecot-imapd)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> tuple[pwd.struct_passwd, grp.struct_group]:
    """The account Dovecot runs as: ourselves, or `nobody` when we are root."""
    user = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
    return user, grp.getgrgid(user.pw_gid)


def _self_signed(root: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files under `root`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kefu-test-imap")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = root / "cert.pem", root / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Dovecot:
    """A running server: `port` speaks IMAP (STARTTLS when started with tls), `tls_port` implicit TLS."""

    root: Path
    port: int
    tls_port: int | None
    cert_file: Path | None
    process: subprocess.Popen[bytes]
    _users: list[tuple[str, str]] = field(default_factory=list)

    def add_user(self) -> tuple[str, str]:
        """An account nobody has used yet, with an empty INBOX: (user, password)."""
        return self._users.pop()

    @contextlib.contextmanager
    def client(self, user: str, password: str) -> Iterator[imaplib.IMAP4]:
        """A plain imaplib session as `user` (what a test uses to deliver and inspect mail)."""
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            conn.login(user, password)
            yield conn
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    def log(self) -> str:
        """What Dovecot has logged so far."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the master (it takes its children with it) and remove the directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def _config(root: Path, port: int, tls_port: int | None, capability: str | None) -> str:
    user, group = _run_as()
    tls = tls_port is not None
    lines = [
        "protocols = imap",
        "listen = 127.0.0.1",
        f"base_dir = {root}/run",
        f"state_dir = {root}/state",
        f"instance_name = kefu-test-{root.name}",
        f"log_path = {root}/dovecot.log",
        # Unprivileged: every internal and login process runs as the account that started Dovecot.
        f"default_internal_user = {user.pw_name}",
        f"default_internal_group = {group.gr_name}",
        f"default_login_user = {user.pw_name}",
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login",
        "auth_failure_delay = 0",
        f"mail_location = maildir:{root}/mail/%u",
        "passdb {",
        "  driver = passwd-file",
        f"  args = scheme=PLAIN username_format=%u {root}/users",
        "}",
        "userdb {",
        "  driver = static",
        f"  args = uid={user.pw_uid} gid={user.pw_gid} home={root}/mail/%u",
        "}",
        "service imap-login {",
        "  chroot =",
        "  inet_listener imap {",
        "    address = 127.0.0.1",
        f"    port = {port}",
        "  }",
        "  inet_listener imaps {",
        "    address = 127.0.0.1",
        f"    port = {tls_port or 0}",
        "  }",
        "}",
        "service anvil {",
        "  chroot =",
        # No growing per-IP delay after failed logins (Dovecot's documented switch): tests fail logins
        # on purpose, all from 127.0.0.1.
        "  unix_listener anvil-auth-penalty {",
        "    mode = 0",
        "  }",
        "}",
    ]
    if tls:
        lines += ["ssl = yes", f"ssl_cert = <{root}/cert.pem", f"ssl_key = <{root}/key.pem"]
    else:
        lines.append("ssl = no")
    if capability is not None:
        lines += ["protocol imap {", f"  imap_capability = {capability}", "}"]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def run_dovecot(*, tls: bool = False, capability: str | None = None) -> Iterator[Dovecot]:
    """Start Dovecot on ephemeral loopback ports; `capability` overrides its post-login CAPABILITY
    (to play a server without IDLE or MOVE); `tls` adds STARTTLS and an implicit-TLS port."""
    user, _group = _run_as()
    root = Path(tempfile.mkdtemp(prefix="kefu-dovecot-"))
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    # Written once: Dovecot re-reads a changed passwd-file at most once a second, too slow for tests.
    users = [(f"u{secrets.token_hex(4)}", secrets.token_urlsafe(12)) for _ in range(USERS)]
    (root / "users").write_text("".join(f"{name}:{{PLAIN}}{pw}::::::\n" for name, pw in users))
    port, tls_port = _free_port(), (_free_port() if tls else None)
    cert_file = _self_signed(root)[0] if tls else None
    (root / "dovecot.conf").write_text(_config(root, port, tls_port, capability))
    if os.getuid() == 0:
        for path in [root, *root.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
    as_other = os.getuid() != user.pw_uid
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        user=user.pw_uid if as_other else None,
        group=user.pw_gid if as_other else None,
        extra_groups=[] if as_other else None,
    )
    server = Dovecot(root, port, tls_port, cert_file, process, users)
    try:
        _wait_ready(server)
        yield server
    finally:
        server.stop()
        if process.stderr is not None:
            process.stderr.close()


def _wait_ready(server: Dovecot) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            stderr = server.process.stderr.read().decode(errors="replace") if server.process.stderr else ""
            raise RuntimeError(f"dovecot exited: {stderr}\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"dovecot did not come up:\n{server.log()}")
