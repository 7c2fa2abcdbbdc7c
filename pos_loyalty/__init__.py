"""pos-loyalty: loyalty cards and points for physical stores.

`flask --app pos_loyalty ...` finds the factory here; it is imported on first use so that the
pure modules (rules, cards) load without the web stack.
"""
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from pos_loyalty.app import create_app
        return create_app
    raise AttributeError(name)
