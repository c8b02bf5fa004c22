"""A throw-away CA and an SMTP server on 127.0.0.1 that speaks STARTTLS or
implicit TLS with a certificate from it, and records whether AUTH came
over an encrypted connection."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path


def make_certs(directory: Path, name: str = "ogi test") -> Certs:
    """A CA and a server certificate for localhost / 127.0.0.1 (openssl CLI)."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", f"/CN={name} CA")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (directory / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )
    return Certs(directory / "ca.pem", directory / "server.pem", directory / "server.key")


@dataclass
class TlsMailbox:
    port: int
    messages: list[bytes] = field(default_factory=list)
    auth: list[tuple[str, bool]] = field(default_factory=list)  # (AUTH line, over TLS?)
    commands: list[str] = field(default_factory=list)


@contextmanager
def tls_smtp_server(certs: Certs, *, implicit: bool) -> Iterator[TlsMailbox]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.cert, certs.key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    box = TlsMailbox(listener.getsockname()[1])

    def session(conn: socket.socket) -> None:
        tls = False
        try:
            if implicit:
                conn, tls = context.wrap_socket(conn, server_side=True), True
            stream = conn.makefile("rwb")

            def reply(line: str) -> None:
                stream.write((line + "\r\n").encode())
                stream.flush()

            reply("220 localhost test ESMTP")
            while line := stream.readline():
                cmd = line.decode(errors="replace").strip()
                verb = cmd.split(" ", 1)[0].upper()
                box.commands.append(verb)
                if verb == "EHLO":
                    extensions = ["AUTH PLAIN LOGIN"] + ([] if tls else ["STARTTLS"])
                    reply("250-localhost")
                    for ext in extensions[:-1]:
                        reply(f"250-{ext}")
                    reply(f"250 {extensions[-1]}")
                elif verb == "STARTTLS" and not tls:
                    reply("220 go ahead")
                    stream.close()
                    conn, tls = context.wrap_socket(conn, server_side=True), True
                    stream = conn.makefile("rwb")
                elif verb == "AUTH":
                    box.auth.append((cmd, tls))
                    reply("235 authenticated")
                elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                    reply("250 OK")
                elif verb == "DATA":
                    reply("354 go ahead")
                    data = b""
                    while (chunk := stream.readline()) not in (b".\r\n", b""):
                        data += chunk
                    box.messages.append(data)
                    reply("250 queued")
                elif verb == "QUIT":
                    reply("221 bye")
                    return
                else:
                    reply("502 unknown")
        except (OSError, ssl.SSLError):
            return
        finally:
            conn.close()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=session, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield box
    finally:
        listener.close()
