"""The warehouse SQL, one folder per layer, installed as `pipelines.warehouse.sql`."""
