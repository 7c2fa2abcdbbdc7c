"""Pass signing credentials for the Apple Wallet tests: a test root CA, a WWDR intermediate it
signed, and a pass type certificate the intermediate signed, as Apple's chain is."""
from __future__ import annotations

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
