"""The ODCS data contracts of the exchange format, installed as `pipelines.contracts.odcs`."""
