-- staging tables unlogged (Redshift): nothing to do. Redshift has no unlogged tables; its COPY
-- already writes in bulk. Recorded in schema_history like every numbered file.
SELECT 1 AS nothing_to_do;
