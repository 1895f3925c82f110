"""Who may see and send what (access.md): authorisations and perimeters, the access journal, and
the coordinators' portal. Above publication (it reads the published copy and the site referential),
below the Dagster definitions; the dashboard may import it."""
