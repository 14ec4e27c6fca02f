-- The trends stage's events in schema `reports` beside the other report views, for BI
-- tools: `reports.trends`, the table `trends` (migration 0005) as it is. Created only
-- where that table exists: a warehouse that applied this migration before 0005 has no
-- such view (BI tools can read the table `trends` itself).
DO $$
BEGIN
    IF to_regclass('public.trends') IS NOT NULL THEN
        EXECUTE 'CREATE VIEW reports.trends AS SELECT * FROM public.trends';
        EXECUTE 'COMMENT ON VIEW reports.trends IS '
                || quote_literal('Trend events (rising, ended) of the trends stage: table trends');
    END IF;
END
$$;
