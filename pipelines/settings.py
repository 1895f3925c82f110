"""Every `PRE_*` environment variable of the platform, declared once, typed and validated.

`load()` reads the environment when it is called, never at import: a command validates the
whole environment when it starts (`pre-eval` exits with a French message naming the variable
and what it accepts), and long-lived processes (the dashboard, Dagster's code server) read it
again where a change must take effect without a restart. Values given in an environment
variable are never echoed back: they may hold a secret.

The README's table of variables is generated from this class (`python -m pipelines.settings`)
and checked by a test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, SettingsConfigDict

# A source checkout (editable install) keeps its data home at the repository root, as the
# operating spec says; an installed wheel has no repository, so its default is `./data`.
_CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_HOME = _CHECKOUT / "data" if (_CHECKOUT / "pyproject.toml").is_file() else Path("data")

# INSEE practice for individual data (indicators.md): a smaller threshold needs an explicit derogation.
MINIMUM_THRESHOLD = 11
PREFIX = "PRE_"
# The settings Streamlit's sign-in needs (its `[auth]` section); the dashboard shows no figure without them.
SIGN_IN_FIELDS = ("OIDC_METADATA_URL", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_REDIRECT_URI", "COOKIE_SECRET")
PositiveInt = Annotated[int, Field(ge=1)]
PositiveFloat = Annotated[float, Field(ge=0)]


class Settings(BaseSettings):
    """Settings of the platform; field `x` is the environment variable `PRE_X`."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, case_sensitive=True, extra="ignore",
                                      validate_default=True, frozen=True)

    HOME: Path = Field(DEFAULT_HOME, description="dossier de données (boîte de dépôt, archives, entrepôt…)")
    CLE_PSEUDONYMISATION: SecretStr | None = Field(
        None, description="clé de pseudonymisation ; à défaut, celle de `secret/` du dossier de données")
    SEUIL_SECRET: Annotated[int, Field(ge=1)] = Field(11, description="seuil du secret statistique (11 au moins)")
    SEUIL_SECRET_DEROGATION: bool = Field(
        False, description="`oui` autorise un seuil inférieur à 11, pour les analystes seulement")
    ATTENTE_VERROU_S: PositiveFloat = Field(
        900, description="attente maximale du verrou d'écriture de l'entrepôt, en secondes")
    DELAI_STABILITE_S: PositiveFloat = Field(
        2, description="le capteur attend qu'un fichier de la boîte de dépôt n'ait pas changé depuis ce délai (s)")
    LOT_LIGNES: PositiveInt = Field(1_000_000, description="lignes par lot de contrôle des contrats")
    MEMOIRE_DUCKDB_MO: Annotated[int, Field(ge=256)] = Field(
        2000, description="mémoire de DuckDB par connexion en écriture à l'entrepôt (Mo, 256 au moins) ; "
                          "au-delà, ses tris et jointures passent par le disque")
    INTERVALLE_PUBLICATION_MIN: PositiveFloat = Field(
        15, description="au plus une publication des données en continu par intervalle (minutes), quel que soit "
                        "le nombre de dépôts arrivés")
    PROCESSUS: PositiveInt | None = Field(
        None, description="processus auxiliaires pour la lecture et la pseudonymisation (défaut : cœurs, 8 au plus)")
    PARALLELE_DES: PositiveInt = Field(8, description="nombre de fichiers à partir duquel ces processus servent")
    MAX_FICHIER_OCTETS: PositiveInt = Field(500_000_000, description="taille maximale d'un fichier déposé")
    MAX_DECOMPRESSE_OCTETS: PositiveInt = Field(
        4_000_000_000, description="taille maximale d'une archive une fois décompressée")
    MAX_RATIO_COMPRESSION: PositiveInt = Field(
        200, description="taux de compression maximal (au-delà de 50 Mo décompressés)")
    MAX_MEMBRES: PositiveInt = Field(200, description="nombre maximal d'éléments d'une archive")
    # Sign-in (access.md): read by `pre-eval dashboard` / `pre-eval dev`, which hand them to Streamlit.
    OIDC_METADATA_URL: str | None = Field(
        None, description="connexion : adresse `.well-known/openid-configuration` du fournisseur d'identité")
    OIDC_CLIENT_ID: str | None = Field(
        None, description="connexion : identifiant du tableau de bord chez le fournisseur")
    OIDC_CLIENT_SECRET: SecretStr | None = Field(None, description="connexion : secret du tableau de bord")
    OIDC_REDIRECT_URI: str | None = Field(
        None, description="connexion : adresse de retour, `http(s)://HÔTE:PORT/oauth2callback`")
    COOKIE_SECRET: SecretStr | None = Field(None, description="connexion : clé de signature du cookie de session")
    # Production (operations.md v2): Dagster's instance on PostgreSQL, retention, alerts.
    DAGSTER_POSTGRES_URL: SecretStr | None = Field(
        None, description="exploitation : base PostgreSQL de l'instance Dagster (`postgresql://…`) ; à défaut, "
                          "SQLite sous `dagster/`")
    RETENTION_QUARANTAINE_JOURS: PositiveInt = Field(
        30, description="conservation : un fichier refusé est supprimé de `quarantine/` ce nombre de jours après "
                        "sa réception")
    RETENTION_ARCHIVE_JOURS: PositiveInt = Field(
        90, description="conservation : un fichier archivé est supprimé ce nombre de jours après avoir cessé "
                        "d'être l'état en vigueur de son site")
    FRAICHEUR_JOURS: PositiveInt = Field(
        365, description="contrôle de l'entrepôt : au-delà de ce nombre de jours depuis l'extraction de ses données "
                         "en vigueur, un site est signalé (avertissement)")
    ALERTE_WEBHOOK_URL: SecretStr | None = Field(
        None, description="alertes : adresse d'un webhook (Tchap, Mattermost) prévenu de chaque exécution en échec")
    ALERTE_SMTP_HOTE: str | None = Field(None, description="alertes : serveur SMTP des courriels aux exploitants")
    ALERTE_SMTP_PORT: Annotated[int, Field(ge=1, le=65535)] = Field(25, description="alertes : port du serveur SMTP")
    ALERTE_SMTP_UTILISATEUR: str | None = Field(None, description="alertes : compte SMTP (facultatif)")
    ALERTE_SMTP_MOT_DE_PASSE: SecretStr | None = Field(None, description="alertes : mot de passe SMTP (facultatif)")
    ALERTE_SMTP_TLS: bool = Field(False, description="alertes : `oui` pour STARTTLS vers le serveur SMTP")
    ALERTE_EMAIL_DE: str | None = Field(None, description="alertes : expéditeur des courriels")
    ALERTE_EMAIL_A: str | None = Field(
        None, description="alertes : destinataires des courriels, séparés par des virgules")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise PydanticUseDefault
        return value

    @field_validator("SEUIL_SECRET_DEROGATION", "ALERTE_SMTP_TLS", mode="before")
    @classmethod
    def _french_yes_no(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("oui", "non"):
            return value.strip().lower() == "oui"
        return value

    @field_validator("OIDC_METADATA_URL", "OIDC_REDIRECT_URI")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname or any(c in value for c in " \n\r\t\"'\\"):
            raise ValueError("une adresse http:// ou https:// complète, sans espace ni guillemet, est attendue")
        return value

    @field_validator("OIDC_REDIRECT_URI")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        if value is not None and not urlsplit(value).path.endswith("/oauth2callback"):
            raise ValueError("l'adresse de retour doit finir par /oauth2callback (adresse du tableau de bord)")
        return value

    @field_validator("OIDC_CLIENT_ID")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 200 or not value.isprintable() or '"' in value or "\\" in value):
            raise ValueError("200 caractères imprimables au plus, sans guillemet ni barre oblique inverse")
        return value

    @field_validator("DAGSTER_POSTGRES_URL")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        parsed = urlsplit(value.get_secret_value())
        if parsed.scheme not in ("postgresql", "postgres") or not parsed.hostname or not parsed.path.strip("/"):
            raise ValueError("postgresql")
        return value

    @field_validator("ALERTE_WEBHOOK_URL")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            cls._web_address(value.get_secret_value())
        return value

    @field_validator("ALERTE_SMTP_HOTE", "ALERTE_SMTP_UTILISATEUR")
    @classmethod
    def _host_name(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 253 or not all(c.isalnum() or c in ".-_@" for c in value)):
            raise ValueError("nom")
        return value

    @field_validator("ALERTE_EMAIL_DE", "ALERTE_EMAIL_A")
    @classmethod
    def _addresses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for address in value.split(","):
            local, at, domain = address.strip().partition("@")
            if not (local and at and "." in domain and all(c.isalnum() or c in ".-_+@" for c in address.strip())):
                raise ValueError("adresse")
        return value

    @model_validator(mode="after")
    def _threshold_not_below_the_rule(self) -> Settings:
        if self.SEUIL_SECRET < MINIMUM_THRESHOLD and not self.SEUIL_SECRET_DEROGATION:
            raise ValueError("seuil")
        return self

    @property
    def workers(self) -> int:
        return self.PROCESSUS or min(os.cpu_count() or 1, 8)


# What each kind of value accepts, in French, for error messages.
_ACCEPTS = {
    "HOME": "un chemin de dossier",
    "CLE_PSEUDONYMISATION": "une chaîne non vide",
    "SEUIL_SECRET": "un entier supérieur ou égal à 1",
    "SEUIL_SECRET_DEROGATION": "oui ou non",
    "ATTENTE_VERROU_S": "un nombre de secondes positif ou nul",
    "DELAI_STABILITE_S": "un nombre de secondes positif ou nul",
    "INTERVALLE_PUBLICATION_MIN": "un nombre de minutes positif ou nul",
    "MEMOIRE_DUCKDB_MO": "un nombre de mégaoctets entier, 256 au moins",
    "OIDC_METADATA_URL": "une adresse http:// ou https:// complète, sans espace ni guillemet",
    "OIDC_REDIRECT_URI": "une adresse http(s)://HÔTE:PORT/oauth2callback, sans espace ni guillemet",
    "OIDC_CLIENT_ID": "200 caractères imprimables au plus, sans guillemet ni barre oblique inverse",
    "OIDC_CLIENT_SECRET": "une chaîne non vide",
    "COOKIE_SECRET": "une chaîne non vide",
    "DAGSTER_POSTGRES_URL": "une adresse postgresql://UTILISATEUR:MOT_DE_PASSE@HÔTE:PORT/BASE",
    "RETENTION_QUARANTAINE_JOURS": "un nombre de jours entier supérieur ou égal à 1",
    "RETENTION_ARCHIVE_JOURS": "un nombre de jours entier supérieur ou égal à 1",
    "ALERTE_WEBHOOK_URL": "une adresse http:// ou https:// complète, sans espace ni guillemet",
    "ALERTE_SMTP_HOTE": "un nom d'hôte (lettres, chiffres, points, tirets)",
    "ALERTE_SMTP_PORT": "un numéro de port entre 1 et 65535",
    "ALERTE_SMTP_UTILISATEUR": "un nom de compte (lettres, chiffres, points, tirets, @)",
    "ALERTE_SMTP_MOT_DE_PASSE": "une chaîne non vide",
    "ALERTE_SMTP_TLS": "oui ou non",
    "ALERTE_EMAIL_DE": "une adresse électronique",
    "ALERTE_EMAIL_A": "des adresses électroniques séparées par des virgules",
}


def default(name: str) -> object:
    """The default value of setting `name` (what documents state, whatever the environment)."""
    return Settings.model_fields[name].default


class SettingsError(ValueError):
    """An environment variable holds a value the platform does not accept (French message)."""


# The last environment read and what it gave. Settings depend on the `PRE_*` variables alone (no
# file, no other variable): the same variables give the same settings, so a call with the
# environment unchanged costs a dictionary scan, not a validation (reading a national batch calls
# `load` a few times per file). A changed variable is seen at the next call, as before.
_last: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def load() -> Settings:
    """The settings from the environment as it is now; `SettingsError` names every bad variable."""
    global _last
    snapshot = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
    if _last is not None and _last[0] == snapshot:
        return _last[1]
    try:
        loaded = Settings()
        _last = (snapshot, loaded)
        return loaded
    except ValidationError as exc:
        names = list(dict.fromkeys(str(error["loc"][0]) if error["loc"] else "" for error in exc.errors()))
        lines = [f"variable d'environnement PRE_{name} invalide : attendu {_ACCEPTS.get(name, 'un entier ≥ 1')}."
                 if name else
                 f"variable d'environnement PRE_SEUIL_SECRET invalide : attendu un entier supérieur ou égal à "
                 f"{MINIMUM_THRESHOLD} (un seuil plus bas demande PRE_SEUIL_SECRET_DEROGATION=oui, pour les "
                 "analyses internes seulement)."
                 for name in names]
        raise SettingsError("\n".join(lines)) from None


def table_markdown() -> str:
    """The README's table of environment variables."""
    rows = ["| variable | défaut | rôle |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if name == "HOME":
            default = "`data/` à la racine du dépôt"
        elif isinstance(default, bool):
            default = "`oui`" if default else "`non`"
        elif default is None:
            default = "—"
        else:
            default = f"`{default:_}`".replace("_", " ") if isinstance(default, int) else f"`{default}`"
        rows.append(f"| `PRE_{name}` | {default} | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table_markdown())
    sys.exit(0)
