"""PRE evaluation platform: ingestion, validation and indicators for the Programmes de Réussite Éducative."""
