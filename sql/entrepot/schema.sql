-- Warehouse schemas (one per layer) and the submissions ledger. Idempotent: run at every connection.
-- The four site tables (ingestion.parcours, …) are created from the data contracts' columns.
create schema if not exists ingestion;
create schema if not exists referentiel;
create schema if not exists staging;
create schema if not exists intermediaire;
create schema if not exists marts;

create table if not exists ingestion.depots (
    sha256            varchar primary key,      -- content hash: one row per content received
    fichier           varchar not null,         -- name as dropped in the inbox
    code_pre          varchar,                  -- null when unreadable
    date_extraction   date,
    date_debut_donnees date,
    recu_le           timestamptz not null,     -- arrival in the inbox
    traite_le         timestamptz not null,
    statut            varchar not null,         -- accepte | refuse | ignore
    en_vigueur        boolean not null,         -- the site's snapshot in force
    nb_bloquants      bigint not null,
    nb_avertissements bigint not null,
    nb_parcours       bigint,                   -- null when unreadable
    nb_actions        bigint,
    nb_bilans         bigint,
    nb_attentes       bigint,
    rapport           varchar not null,         -- report (Markdown), relative to the data home
    chemin            varchar not null,         -- where the file is kept, relative to the data home
    depose_par        varchar                   -- sender's email through the portal; null: another channel
);
-- Warehouses created before the portal (access.md) gain the sender's column.
alter table ingestion.depots add column if not exists depose_par varchar;

create table if not exists ingestion.sites (
    code_pre     varchar not null,
    nom          varchar,
    code_commune varchar,
    departement  varchar,
    region       varchar,
    porteur      varchar
);

-- The pseudonymisation key's fingerprint (HMAC-SHA256 of a fixed label keyed with the key), one row:
-- written with the first load, replaced by a key rotation, checked at every load
-- (pipelines/ingest/pseudonym.py). Outside marts: never published.
create table if not exists ingestion.cle_pseudonymisation (
    empreinte       varchar not null,
    enregistree_le  timestamptz not null
);
