"""Pass signing credentials for the Apple Wallet tests: a test root CA, a WWDR intermediate it
signed, and a pass type certificate the intermediate signed, as Apple's chain is."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certificates import Issued, issue, make_ca

PASS_TYPE_ID = "pass.test"
TEAM_ID = "TEAM123456"


@dataclass(frozen=True)
class PassChain:
    root: Issued
    wwdr: Issued
    signer: Issued

    def write(self, folder: Path) -> dict[str, Any]:
        """The files under `folder`, and the [wallet] settings that name them."""
        certificate, key = self.signer.write(folder, "pass")
        wwdr, _ = self.wwdr.write(folder, "wwdr")
        root, _ = self.root.write(folder, "root")
        return {"apple_pass_type_id": PASS_TYPE_ID, "apple_team_id": TEAM_ID,
                "apple_pass_certificate_file": str(certificate),
                "apple_pass_key_file": str(key), "apple_wwdr_certificate_file": str(wwdr),
                "public_base_url": "https://loyalty.example.com"}


def make_pass_chain() -> PassChain:
    root = make_ca("Test Apple Root CA")
    wwdr = issue(root, "WWDR", intermediate=True)
    return PassChain(root, wwdr, issue(wwdr, f"Pass Type ID: {PASS_TYPE_ID}", client=True))


def openssl_verifies(pkpass: bytes, root_pem: Path, folder: Path) -> bool:
    """Whether `openssl smime -verify` accepts the bundle's signature of its manifest,
    chained to `root_pem` (the WWDR intermediate coming from the signature itself)."""
    with zipfile.ZipFile(io.BytesIO(pkpass)) as bundle:
        (folder / "manifest.json").write_bytes(bundle.read("manifest.json"))
        (folder / "signature").write_bytes(bundle.read("signature"))
    result = subprocess.run(
        ["openssl", "smime", "-verify", "-inform", "DER", "-binary",
         "-in", str(folder / "signature"), "-content", str(folder / "manifest.json"),
         "-CAfile", str(root_pem), "-purpose", "any", "-out", os.devnull],
        capture_output=True, check=False)
    return result.returncode == 0


def manifest_matches(pkpass: bytes) -> bool:
    """Whether manifest.json lists every other file with its SHA-1, and nothing else."""
    with zipfile.ZipFile(io.BytesIO(pkpass)) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        files = {name: bundle.read(name) for name in bundle.namelist()
                 if name not in ("manifest.json", "signature")}
    return manifest == {name: hashlib.sha1(body).hexdigest() for name, body in files.items()}


def bundle_files(pkpass: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(pkpass)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def rezipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, body in files.items():
            bundle.writestr(name, body)
    return buffer.getvalue()
