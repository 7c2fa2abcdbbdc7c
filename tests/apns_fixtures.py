"""What the APNs tests share: Apple's kind of key, and the test CA's
certificates for the fake APNs (server) and the Wallet pass (client) as files."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certificates import Issued, issue, make_ca

START = dt.datetime(2030, 3, 1, 12, 0)
START_SECONDS = 1898596800   # START as Unix seconds
TEAM, KEY_ID = "TEAM123456", "KEY1234567"
APP_TOPIC = "com.example.loyalty"
PASS_TYPE_ID = "pass.com.example.loyalty"


def pkcs8(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
          password: bytes | None = None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption)


@dataclass(frozen=True)
class ApnsFiles:
    ca_file: str
    server_certificate: str
    server_key: str
    pass_issued: Issued
    pass_certificate: str
    pass_key: str


def write_apns_files(folder: Path) -> ApnsFiles:
    """A test CA that signs the fake's server certificate (127.0.0.1) and the pass certificate."""
    ca = make_ca()
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.certificate_pem)
    server = issue(ca, "api.push.apple.test", server_names=("127.0.0.1", "localhost"))
    server_certificate, server_key = server.write(folder, "server")
    pass_issued = issue(ca, PASS_TYPE_ID, client=True)
    pass_certificate, pass_key = pass_issued.write(folder, "pass")
    return ApnsFiles(str(ca_file), str(server_certificate), str(server_key), pass_issued,
                     str(pass_certificate), str(pass_key))
