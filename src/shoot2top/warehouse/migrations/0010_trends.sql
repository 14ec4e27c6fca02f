-- The trends stage's events (shoot2top.analytics, docs/trends.md): one row per burst,
-- identified by (term, kind, scope, onset_at). The stage upserts it when it detects the
-- burst (status 'rising', ended_at NULL) and again when the burst is over (status
-- 'ended'), so a replay rewrites the same rows. recommend/trends.py reads it.
CREATE TABLE IF NOT EXISTS public.trends (
    term        text             NOT NULL,
    kind        text             NOT NULL CHECK (kind IN ('hashtag', 'cashtag', 'keyword', 'mention')),
    scope       text             NOT NULL,  -- 'all' or a platform
    onset_at    timestamptz      NOT NULL,
    detected_at timestamptz      NOT NULL,
    peak_at     timestamptz      NOT NULL,
    ended_at    timestamptz,
    status      text             NOT NULL CHECK (status IN ('rising', 'ended')),
    volume      integer          NOT NULL,
    expected    double precision NOT NULL,
    score       double precision NOT NULL,
    publishers  integer          NOT NULL,
    top_items   jsonb            NOT NULL DEFAULT '[]',
    method      text             NOT NULL DEFAULT '',
    PRIMARY KEY (term, kind, scope, onset_at)
);

-- 0009 created reports.trends only where a trends table already existed: create it now
-- where it is missing. A trends table made before this migration (by hand, another
-- version) is left as it is, and indexed only if it has detected_at.
DO $$
BEGIN
    IF to_regclass('reports.trends') IS NULL THEN
        EXECUTE 'CREATE VIEW reports.trends AS SELECT * FROM public.trends';
        EXECUTE 'COMMENT ON VIEW reports.trends IS '
                || quote_literal('Trend events (rising, ended) of the trends stage: table trends');
    END IF;
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'
               AND table_name = 'trends' AND column_name = 'detected_at') THEN
        EXECUTE 'CREATE INDEX IF NOT EXISTS trends_detected_at ON public.trends (detected_at)';
    END IF;
END
$$;
