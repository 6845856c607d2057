"""GraphQL types of the document store: results, metric summaries per kind, rollup statistics, logbook entries."""
