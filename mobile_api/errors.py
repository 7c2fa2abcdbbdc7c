"""Errors only the mobile API answers; the app-level handler turns them into JSON."""
from __future__ import annotations

from pos_loyalty.errors import define_error

InvalidAppKey = define_error("InvalidAppKey", "invalid_app_key", 401,
                       "A valid app key is required (X-App-Key header).")
InvalidToken = define_error("InvalidToken", "invalid_token", 401,
                      "Log in again: the token is missing, expired or revoked.")
TokenReused = define_error("TokenReused", "token_reused", 401,
                     "This refresh token was already used; the session is closed. Log in again.")
InvalidCode = define_error("InvalidCode", "invalid_code", 401, "Wrong code.")
CodeExpired = define_error("CodeExpired", "code_expired", 400,
                     "No valid code for this phone number: ask for a new one.")
TooManyAttempts = define_error("TooManyAttempts", "too_many_attempts", 429,
                         "Too many wrong codes: ask for a new one.")
TooManyCodes = define_error("TooManyCodes", "too_many_codes", 429,
                      "Too many codes were sent to this phone number; try again later.")
