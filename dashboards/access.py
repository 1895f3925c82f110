"""Sign-in and perimeters on the dashboard (access.md): who is signed in, what they may see.

`signed_in()` runs first on every page load. Without the OpenID Connect configuration, without a
signed-in user, or for a user absent from the authorisations file, it shows a French page and stops
the script: no figure, no territory list. The authorisations file is read again at each page load,
so a change takes effect at once. `visible()` and `keep_visible()` apply the person's perimeter to
every territory list and every table the pages read (through `data`).
"""

from __future__ import annotations

import logging
import os
import time

import polars as pl
import streamlit as st

import accessibility
from pipelines import settings
from pipelines.access import authorisations, journal
from pipelines.access.authorisations import AuthorisationsError, Person, Territories
from pipelines.common.datahome import DataHome
from pipelines.contracts.referential import load_sites

log = logging.getLogger(__name__)

# Read by the launcher (`pre-eval dashboard`, `pre-eval dev`), which turns them into Streamlit's
# `[auth]` secrets; the dashboard checks they were given.
OIDC_VARIABLES = tuple(settings.PREFIX + field for field in settings.SIGN_IN_FIELDS)
PERSON = "_personne"
# A sign-in is good for a working day: after this, the person signs in again (the identity cookie
# itself lasts 30 days in Streamlit, too long for data about children). Counted from the identity
# token's `iat` (issued at), which every OpenID Connect provider sets.
SESSION_HOURS = 12
CONTACT = ("Pour obtenir un accès, adressez-vous à l'exploitant de la plateforme (ANCT) : il ajoute votre "
           "adresse au fichier des habilitations avec votre rôle et votre périmètre.")


class OutsidePerimeter(RuntimeError):
    """A territory named in the URL lies outside the signed-in person's perimeter."""


def missing_configuration() -> list[str]:
    return [name for name in OIDC_VARIABLES if not os.environ.get(name, "").strip()]


def territories() -> Territories:
    return Territories.from_frame(load_sites(DataHome.from_settings()))


def _stop_page(title: str, browser_title: str | None = None) -> None:
    """A page's heading, and its title in the browser (`<browser_title or title> — Évaluation des PRE`)."""
    st.set_page_config(page_title=f"{browser_title or title} — {accessibility.SITE_NAME}")
    st.title(title)


def signed_in() -> Person:
    """The signed-in, authorised person; otherwise a French page, and the script stops."""
    try:
        home = DataHome.from_settings()
    except settings.SettingsError as error:  # a malformed PRE_* variable: its French message, nothing else
        _stop_page("Évaluation des Programmes de Réussite Éducative", "Configuration invalide")
        st.error(f"Configuration invalide : {error}")
        st.stop()
    missing = missing_configuration()
    if missing:
        _stop_page("Évaluation des Programmes de Réussite Éducative", "Connexion non configurée")
        st.error("La connexion n'est pas configurée : aucun chiffre n'est affiché sans connexion. Variables "
                 f"d'environnement manquantes : {', '.join(missing)}. L'exploitant de la plateforme les renseigne "
                 "(voir la documentation d'exploitation).")
        st.stop()
    if not st.user.is_logged_in:
        _stop_page("Évaluation des Programmes de Réussite Éducative", "Connexion")
        st.write("Ce tableau de bord présente les indicateurs d'évaluation des Programmes de Réussite Éducative. "
                 "Il est réservé aux agents de l'ANCT, des DREETS et des DDETS, et aux coordinations des PRE.")
        st.button("Se connecter", type="primary", on_click=st.login)
        st.caption("La connexion passe par le fournisseur d'identité de votre organisation (ProConnect pour les "
                   "agents de l'État).")
        with st.expander(accessibility.MENTION):  # the statement, readable before signing in
            accessibility.statement()
        st.stop()
    email = str(st.user.get("email") or "").strip().lower()
    if not fresh(st.user.get("iat")):
        journal.record(home, "acces_refuse", email=email, detail={"motif": "session_expiree"})
        st.session_state.pop(PERSON, None)
        _stop_page("Session expirée")
        st.warning(f"Votre session a expiré (une connexion vaut {SESSION_HOURS} heures) : reconnectez-vous pour "
                   "continuer. Aucune action n'a été faite depuis l'expiration, aucun fichier n'a été envoyé.")
        st.button("Se reconnecter", type="primary", on_click=st.login)
        st.stop()
    try:
        people = authorisations.load(home, territories())
    except AuthorisationsError as error:
        log.error("%s", error)  # the operator's message, with the line to fix, in the server's log
        journal.record(home, "acces_refuse", email=email, detail={"motif": "habilitations_invalides",
                                                                   "message": str(error)})
        _stop_page("Accès momentanément suspendu")
        st.error("Le fichier des habilitations de la plateforme est invalide : personne ne peut se connecter tant "
                 "que l'exploitant ne l'a pas corrigé. Réessayez plus tard.")
        _sign_out_button()
        st.stop()
    person = people.get(email)
    if person is None:
        journal.record(home, "acces_refuse", email=email, detail={"motif": "non_habilite"})
        _stop_page("Accès non autorisé")
        st.error(f"Votre compte ({email or 'adresse électronique non transmise'}) n'est pas habilité à consulter "
                 "ce tableau de bord.")
        st.info(CONTACT)
        _sign_out_button()
        st.stop()
    if st.session_state.get(PERSON) != person:
        journal.record(home, "connexion", email=person.email, role=person.role,
                       detail={"perimetre": list(person.codes)})
        st.session_state[PERSON] = person
    with st.sidebar:
        st.caption(f"Connecté : {person.label} — {authorisations.ROLE_LABELS[person.role]}")
        _sign_out_button(person)
    return person


def fresh(issued_at: object, now: float | None = None) -> bool:
    """Whether a sign-in issued at `issued_at` (seconds since the epoch) is still valid. A missing,
    malformed or future date counts as expired: the person signs in again."""
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
        return False
    now = time.time() if now is None else now
    return now - SESSION_HOURS * 3600 <= issued_at <= now + 300  # 5 min of clock skew with the provider


def _sign_out_button(person: Person | None = None) -> None:
    if st.button("Se déconnecter", key="_deconnexion"):
        if person is not None:
            journal.record(DataHome.from_settings(), "deconnexion", email=person.email, role=person.role)
        st.session_state.pop(PERSON, None)
        st.logout()


def current() -> Person:
    """The person of this session (set by `signed_in`, which every page load runs first)."""
    person = st.session_state.get(PERSON)
    if not isinstance(person, Person):
        raise OutsidePerimeter("no signed-in person")
    return person


def visible(level: str, territory: str) -> bool:
    return authorisations.in_detail(current(), level, territory, territories())


def keep_visible(df: pl.DataFrame, level: str = "niveau", territory: str = "territoire") -> pl.DataFrame:
    """The rows of territories the person may see."""
    if df.is_empty() or current().role in ("national", "exploitant"):
        return df
    person, tree = current(), territories()  # the referential is read once per table, not once per territory
    pairs = df.select(level, territory).unique()
    allowed = [authorisations.in_detail(person, lv, code, tree) for lv, code in pairs.iter_rows()]
    keep = pairs.filter(pl.Series(allowed, dtype=pl.Boolean))
    return df.join(keep, on=[level, territory], how="semi")


def keep_own_submissions(df: pl.DataFrame) -> pl.DataFrame:
    """Submission rows of the sites whose status and reports the person may see."""
    if df.is_empty() or current().role in ("national", "exploitant"):
        return df
    return df.filter(pl.col("code_pre").is_in(list(own_submission_sites(df["code_pre"].drop_nulls().unique()))))


def own_submission_sites(codes) -> set[str]:
    """Those of these sites whose status and reports the person may see."""
    if current().role in ("national", "exploitant"):
        return set(codes)
    person, tree = current(), territories()
    return {c for c in codes if authorisations.sees_submissions_of(person, c, tree)}


def unmasked(level: str, territory: str) -> bool:
    """Does this person see this territory's figures unmasked (its own site, its own pages)?"""
    return level == "pre" and authorisations.unmasked_site(current(), territory)


def record(event: str, **detail: object) -> None:
    record_for(current(), event, **detail)


def record_for(person: Person, event: str, **detail: object) -> None:
    journal.record(DataHome.from_settings(), event, email=person.email, role=person.role, detail=detail)
