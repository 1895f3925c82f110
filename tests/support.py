"""What many tests share: where things are, and the environment a `pre-eval` child process gets."""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PRE_EVAL = str(BIN / "pre-eval")


def isolated_env(home_root: Path, user_home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment for a child process: system PATH, its own HOME, the data home
    `home_root`, and nothing else of the test runner's environment (no stray PRE_* setting)."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(user_home), "PRE_HOME": str(home_root), **extra}


# --- signing in (access.md) -------------------------------------------------------------------------------

# Sign-in variables for AppTest runs (no provider is contacted: AppTest gives the signed-in user).
OIDC_ENV = {"PRE_OIDC_METADATA_URL": "http://127.0.0.1:9/.well-known/openid-configuration",
            "PRE_OIDC_CLIENT_ID": "essai", "PRE_OIDC_CLIENT_SECRET": "secret-essai",
            "PRE_OIDC_REDIRECT_URI": "http://127.0.0.1:8501/oauth2callback", "PRE_COOKIE_SECRET": "cookie-essai"}
# One account per role, on the shipped referential (Grand Est: region 44, Marne 51, Reims PRE51454).
ACCOUNTS = {
    "national": ("anct@essai.fr", "national", "FR"),
    "region": ("dreets@essai.fr", "region", "44"),
    "departement": ("ddets51@essai.fr", "departement", "51"),
    "site": ("reims@essai.fr", "site", "PRE51454"),
    "exploitant": ("ops@essai.fr", "exploitant", "FR"),
}


def authorise(home_root: Path, accounts=None) -> Path:
    """Write the data home's authorisations file with these accounts (email, role, perimeter; default:
    one per role)."""
    accounts = ACCOUNTS.values() if accounts is None else accounts
    folder = home_root / "acces"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "habilitations.csv"
    path.write_text("email,role,perimetre,nom\n" + "".join(f"{e},{r},{p},\n" for e, r, p in accounts),
                    encoding="utf-8")
    return path


def signed_in(at, role: str = "national"):
    """Make an AppTest session that of the account of `role` (signed in through the provider)."""
    at.user = {"is_logged_in": True, "email": ACCOUNTS[role][0], "name": role, "iat": int(time.time())}
    return at
