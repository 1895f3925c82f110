"""Déposer un fichier (/depot): a coordinator checks a file on the page, reads the report, and sends it
into the inbox when it has no blocking anomaly and concerns one of its own sites."""

import tempfile
from pathlib import Path

import streamlit as st

import access
import data
from display import page, show_report
from pipelines.access import portal
from pipelines.contracts.documents.template import write_template

CHECKED = "_depot_verifie"
SENT = "_depot_envoye"


@st.cache_data(show_spinner=False)
def template() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return write_template(Path(folder) / "modele.xlsx").read_bytes()


def body(_) -> None:
    person = access.current()
    if person.role not in ("site", "exploitant"):
        st.error("Cette page est réservée aux coordinations des PRE.")
        return
    sites = ", ".join(person.codes) if person.role == "site" else "tous les sites (exploitation)"
    st.write(f"Vérifiez votre export sur cette page, puis envoyez-le. Vous déposez pour : **{sites}**.")
    st.download_button("Télécharger le modèle XLSX à remplir", template(), file_name="modele_depot_pre.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       on_click="ignore", icon=":material/download:", key="depot_modele")
    uploaded = st.file_uploader("Fichier de dépôt (archive ZIP ou classeur XLSX)", type=["zip", "xlsx"],
                                key="depot_fichier")
    if uploaded is None:
        st.session_state.pop(CHECKED, None)
        return
    state = st.session_state.get(CHECKED)
    if not state or state["id"] != uploaded.file_id:
        bar = st.progress(0.0, text="Vérification du fichier…")
        try:
            checked = portal.check(data.home(), person, uploaded.name, uploaded.getvalue(),
                                   progress=lambda fraction, label: bar.progress(fraction, text=label))
        except portal.PortalError as error:
            access.record("verification", fichier=portal.safe_name(uploaded.name), resultat="illisible")
            st.error(str(error))
            return
        finally:
            bar.empty()
        access.record("verification", fichier=checked.name, code_pre=checked.code_pre or "",
                      resultat="envoyable" if checked.sendable else "refuse")
        state = {"id": uploaded.file_id, "checked": checked}
        st.session_state[CHECKED] = state
    checked: portal.Checked = state["checked"]

    if not checked.allowed:
        st.error(checked.verdict)
        return
    if checked.sendable:
        st.success(checked.verdict)
    else:
        st.error(checked.verdict)
        st.warning("Ce fichier ne peut pas être envoyé : corrigez les anomalies bloquantes décrites dans le "
                   "rapport, puis déposez-le de nouveau.")
    st.download_button("Télécharger le rapport (Markdown)", checked.report_markdown.encode("utf-8"),
                       file_name=f"{Path(checked.name).stem}.rapport.md", mime="text/markdown",
                       on_click="ignore", key="depot_rapport")
    if checked.sendable:
        done = st.session_state.get(SENT)
        if done and done["sha256"] == checked.sha256:
            st.success(done["message"])
        elif st.button("Envoyer", type="primary", key="depot_envoyer"):
            try:
                sent = portal.send(data.home(), person, checked)
            except portal.PortalError as error:
                st.error(str(error))
            else:
                access.record("envoi", fichier=sent.name, code_pre=checked.code_pre or "", deja=sent.already)
                st.session_state[SENT] = {"sha256": checked.sha256, "message": sent.message}
                st.success(sent.message)
    show_report(checked.report_markdown)


page("Déposer un fichier", body, filters=False)
