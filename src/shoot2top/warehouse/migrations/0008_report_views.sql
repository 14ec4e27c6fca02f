-- The reports as SQL, for BI tools (Metabase, Grafana, Superset) and anyone with psql:
-- schema `reports`, three views and the functions behind them. They compute exactly
-- what `shoot2top report videos|publishers|live` computes in Python
-- (shoot2top.warehouse.performance and reports; tests/warehouse/test_views.py compares
-- them row by row), without its rounding: a BI tool formats numbers itself.
--
-- What a platform did not report is NULL, never 0. A counter's curve is its known
-- values; between two of them it is interpolated linearly, after the last one it is
-- unknown, and before the first one it is unknown too unless that first value was
-- observed within an hour of publication: then the counter rises from zero at
-- publication (performance.PUBLICATION_ANCHOR). Engagement (interactions) is the sum of
-- the interactions the item reports, each interpolated on its own.
-- Text is ordered COLLATE "C" wherever order decides (ties): the code-point order of
-- the Python reports, whatever the database's locale.

CREATE SCHEMA reports;
COMMENT ON SCHEMA reports IS
    'Shoot2Top reports as SQL views: video_performance, publisher_summary, live_scores.';

-- Every counter's curve as of p_until, as segments between consecutive known values
-- (the last known value ends with next_at NULL); items observed at least once between
-- publication and p_until only.
CREATE FUNCTION reports.segments(p_until timestamptz)
RETURNS TABLE (platform text, item_id text, counter text, at timestamptz, value double precision,
               next_at timestamptz, next_value double precision)
LANGUAGE sql STABLE AS $$
    WITH points AS (
        SELECT s.platform, s.item_id, c.counter, s.observed_at AS at, c.value, i.created_at
        FROM metric_snapshots s
        JOIN items i ON i.platform = s.platform AND i.item_id = s.item_id
        CROSS JOIN LATERAL (VALUES ('views', s.views::double precision),
                                   ('likes', s.likes::double precision),
                                   ('shares', s.shares::double precision),
                                   ('comments', s.comments::double precision),
                                   ('quotes', s.quotes::double precision)) AS c (counter, value)
        WHERE c.value IS NOT NULL AND s.observed_at >= i.created_at AND s.observed_at <= p_until
    ),
    curve AS (
        SELECT platform, item_id, counter, at, value FROM points
        UNION ALL
        SELECT platform, item_id, counter, min(created_at), 0.0
        FROM points
        GROUP BY platform, item_id, counter
        HAVING min(at) > min(created_at) AND min(at) <= min(created_at) + interval '1 hour'
    )
    SELECT platform, item_id, counter, at, value,
           lead(at) OVER w, lead(value) OVER w
    FROM curve
    WINDOW w AS (PARTITION BY platform, item_id, counter ORDER BY at)
$$;

-- A counter at p_moment on a segment that holds it (at <= p_moment <= next_at).
CREATE FUNCTION reports.interpolate(
    p_at timestamptz, p_value double precision, p_next_at timestamptz,
    p_next_value double precision, p_moment timestamptz
) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_next_at IS NULL OR p_next_at = p_at OR p_moment = p_at THEN p_value
                ELSE p_value + (p_next_value - p_value)
                     * extract(epoch FROM p_moment - p_at) / extract(epoch FROM p_next_at - p_at)
           END
$$;

-- The mean after dropping the p_trim share of values at each end (the benchmark).
CREATE FUNCTION reports.trimmed_mean(p_values double precision[], p_trim double precision DEFAULT 0.25)
RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    WITH v AS (SELECT x, row_number() OVER (ORDER BY x) AS n
               FROM unnest(p_values) x WHERE x IS NOT NULL),
         c AS (SELECT count(*) AS total, floor(count(*) * p_trim)::bigint AS cut FROM v)
    SELECT CASE WHEN c.total = 0 THEN NULL
                WHEN c.total > 2 * c.cut
                    THEN (SELECT avg(x) FROM v WHERE n > c.cut AND n <= c.total - c.cut)
                ELSE (SELECT avg(x) FROM v) END
    FROM c
$$;

-- CrowdTangle's score: actual/expected at or above the benchmark, -expected/actual below
-- (fewer than one counts as one); NULL without a benchmark.
CREATE FUNCTION reports.overperformance(p_actual double precision, p_expected double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_actual IS NULL OR p_expected IS NULL OR p_expected <= 0 THEN NULL
                WHEN greatest(p_actual, 1) >= greatest(p_expected, 1)
                    THEN greatest(p_actual, 1) / greatest(p_expected, 1)
                ELSE -greatest(p_expected, 1) / greatest(p_actual, 1) END
$$;

-- Items as of p_until: those observed at least once between publication and p_until
-- (even if no counter was known then), with their latest known views and engagement (the sum of the last known value of each
-- interaction the item reports) up to p_until, and when each was last observed.
CREATE FUNCTION reports.items_as_of(p_until timestamptz)
RETURNS TABLE (platform text, item_id text, publisher_id text, publisher_name text,
               media_type text, title text, created_at timestamptz, is_video boolean,
               latest_views double precision, views_at timestamptz,
               latest_engagement double precision, engagement_at timestamptz)
LANGUAGE sql STABLE AS $$
    WITH last AS (SELECT * FROM reports.segments(p_until) WHERE next_at IS NULL)
    SELECT i.platform, i.item_id, i.publisher_id, p.name, i.media_type,
           coalesce(i.title, i.text, i.description), i.created_at,
           coalesce(i.media_type IN ('video', 'animated_gif'), false),
           l.views, l.views_at, l.engagement, l.engagement_at
    FROM items i
    LEFT JOIN publishers p ON p.platform = i.platform AND p.publisher_id = i.publisher_id
    LEFT JOIN (
        SELECT last.platform, last.item_id,
               max(value) FILTER (WHERE counter = 'views') AS views,
               max(at) FILTER (WHERE counter = 'views') AS views_at,
               sum(value) FILTER (WHERE counter <> 'views') AS engagement,
               max(at) FILTER (WHERE counter <> 'views') AS engagement_at
        FROM last
        GROUP BY last.platform, last.item_id
    ) l ON l.platform = i.platform AND l.item_id = i.item_id
    WHERE EXISTS (SELECT 1 FROM metric_snapshots s  -- observed, even with no counter known
                  WHERE s.platform = i.platform AND s.item_id = i.item_id
                    AND s.observed_at >= i.created_at AND s.observed_at <= p_until)
$$;

-- Every item with its figures 1 h, 6 h, 24 h and 7 d after publication, latest figures,
-- peak velocity, and (videos) its rank within its publisher's videos: on views when all
-- of them have views, else on interactions (`ranked_on`).
CREATE VIEW reports.video_performance AS
WITH s AS (SELECT * FROM reports.items_as_of('infinity')),
seg AS (SELECT * FROM reports.segments('infinity')),
reported AS (SELECT DISTINCT platform, item_id, counter FROM seg),
ages (label, age) AS (VALUES ('1h', interval '1 hour'), ('6h', interval '6 hours'),
                             ('24h', interval '24 hours'), ('7d', interval '7 days')),
counter_values AS (  -- each counter an item reports, at each age (NULL: unknown there)
    SELECT DISTINCT ON (r.platform, r.item_id, r.counter, a.label)
           r.platform, r.item_id, r.counter, a.label,
           reports.interpolate(g.at, g.value, g.next_at, g.next_value, s.created_at + a.age) AS value
    FROM reported r
    JOIN s ON s.platform = r.platform AND s.item_id = r.item_id
    CROSS JOIN ages a
    LEFT JOIN seg g ON g.platform = r.platform AND g.item_id = r.item_id AND g.counter = r.counter
         AND g.at <= s.created_at + a.age AND s.created_at + a.age <= coalesce(g.next_at, g.at)
    ORDER BY r.platform, r.item_id, r.counter, a.label, g.at
),
at_ages AS (
    SELECT platform, item_id, label,
           max(value) FILTER (WHERE counter = 'views') AS views,
           CASE WHEN count(*) FILTER (WHERE counter <> 'views')
                     > count(value) FILTER (WHERE counter <> 'views') THEN NULL
                ELSE sum(value) FILTER (WHERE counter <> 'views') END AS engagement
    FROM counter_values
    GROUP BY platform, item_id, label
),
pivot AS (
    SELECT platform, item_id,
           max(views) FILTER (WHERE label = '1h') AS views_1h,
           max(engagement) FILTER (WHERE label = '1h') AS engagement_1h,
           max(views) FILTER (WHERE label = '6h') AS views_6h,
           max(engagement) FILTER (WHERE label = '6h') AS engagement_6h,
           max(views) FILTER (WHERE label = '24h') AS views_24h,
           max(engagement) FILTER (WHERE label = '24h') AS engagement_24h,
           max(views) FILTER (WHERE label = '7d') AS views_7d,
           max(engagement) FILTER (WHERE label = '7d') AS engagement_7d
    FROM at_ages
    GROUP BY platform, item_id
),
peaks AS (
    SELECT platform, item_id,
           max((next_value - value) / (extract(epoch FROM next_at - at) / 3600.0)) AS peak_views_per_h
    FROM seg
    WHERE counter = 'views' AND next_at > at
    GROUP BY platform, item_id
),
ranked AS (
    SELECT s.platform, s.item_id,
           CASE WHEN bool_and(s.latest_views IS NOT NULL) OVER publisher THEN 'views'
                ELSE 'interactions' END AS ranked_on,
           s.latest_views, s.latest_engagement, s.publisher_id
    FROM s
    WHERE s.is_video
    WINDOW publisher AS (PARTITION BY s.platform, s.publisher_id)
)
SELECT s.platform, s.item_id, s.publisher_id, coalesce(s.publisher_name, s.publisher_id) AS publisher,
       s.media_type, s.title, s.created_at AS published, s.is_video,
       v.views_1h, v.engagement_1h, v.views_6h, v.engagement_6h, v.views_24h, v.engagement_24h,
       v.views_7d, v.engagement_7d, s.latest_views, s.latest_engagement, k.peak_views_per_h,
       r.rank_in_publisher, r.ranked_on
FROM s
LEFT JOIN pivot v ON v.platform = s.platform AND v.item_id = s.item_id
LEFT JOIN peaks k ON k.platform = s.platform AND k.item_id = s.item_id
LEFT JOIN (
    SELECT platform, item_id, ranked_on,
           row_number() OVER (
               PARTITION BY platform, publisher_id
               ORDER BY CASE WHEN ranked_on = 'views' THEN latest_views ELSE latest_engagement END
                        DESC NULLS LAST, item_id COLLATE "C"
           ) AS rank_in_publisher
    FROM ranked
) r ON r.platform = s.platform AND r.item_id = s.item_id;
COMMENT ON VIEW reports.video_performance IS
    'Per item: views and engagement 1h/6h/24h/7d after publication, latest, peak views per hour; '
    'rank_in_publisher among the publisher''s videos (NULL for other media). = shoot2top report videos';

-- Per publisher: items, videos, median and top latest views and engagement over the items
-- that report them, best and worst item, and the rank within its platform: on median
-- views when every publisher of the platform has some, else on median interactions.
CREATE VIEW reports.publisher_summary AS
WITH chosen AS (  -- each item's value on its publisher's metric: views if any item has them
    SELECT i.*,
           CASE WHEN bool_or(i.latest_views IS NOT NULL) OVER (PARTITION BY i.platform, i.publisher_id)
                THEN i.latest_views ELSE i.latest_engagement END AS value
    FROM reports.items_as_of('infinity') i
),
summary AS (
    SELECT c.platform, c.publisher_id, max(c.publisher_name) AS publisher,
           count(*) AS items, count(*) FILTER (WHERE c.is_video) AS videos,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY c.latest_views) AS median_views,
           max(c.latest_views) AS top_views,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY c.latest_engagement) AS median_engagement,
           max(c.latest_engagement) AS top_engagement
    FROM chosen c
    GROUP BY c.platform, c.publisher_id
),
ranked AS (
    SELECT s.*,
           CASE WHEN bool_and(s.median_views IS NOT NULL) OVER (PARTITION BY s.platform)
                THEN 'views' ELSE 'interactions' END AS ranked_on
    FROM summary s
),
ends AS (
    SELECT DISTINCT ON (platform, publisher_id) platform, publisher_id,
           first_value(item_id) OVER best AS best_item, first_value(title) OVER best AS best_title,
           first_value(item_id) OVER worst AS worst_item, first_value(title) OVER worst AS worst_title
    FROM chosen
    WHERE value IS NOT NULL
    WINDOW best AS (PARTITION BY platform, publisher_id ORDER BY value DESC, item_id COLLATE "C" DESC),
           worst AS (PARTITION BY platform, publisher_id ORDER BY value, item_id COLLATE "C")
)
SELECT r.platform, r.publisher_id, r.publisher, r.items, r.videos,
       r.median_views, r.top_views, r.median_engagement, r.top_engagement,
       e.best_item, e.best_title, e.worst_item, e.worst_title,
       row_number() OVER (
           PARTITION BY r.platform
           ORDER BY CASE WHEN r.ranked_on = 'views' THEN r.median_views ELSE r.median_engagement END
                    DESC NULLS LAST, r.publisher_id COLLATE "C"
       ) AS rank_in_platform,
       r.ranked_on
FROM ranked r
LEFT JOIN ends e ON e.platform = r.platform AND e.publisher_id IS NOT DISTINCT FROM r.publisher_id;
COMMENT ON VIEW reports.publisher_summary IS
    'Per publisher: items, median/top latest views and engagement, best and worst item, '
    'rank_in_platform. = shoot2top report publishers';

-- Items published in the p_hours before p_at, scored against their publisher's own
-- benchmark at the same age (CrowdTangle): the trimmed mean of the publisher's last 100
-- earlier items of the same media type at the age of the item's latest known value —
-- on views, or on interactions for items without a view counter (`scored_on`).
CREATE FUNCTION reports.live_scores_at(p_at timestamptz, p_hours double precision DEFAULT 24)
RETURNS TABLE (platform text, item_id text, publisher_id text, publisher text, media_type text,
               title text, published timestamptz, age_h double precision,
               views double precision, interactions double precision,
               views_per_h double precision, scored_on text, benchmark double precision,
               score double precision, as_of timestamptz)
LANGUAGE sql STABLE AS $$
    WITH series AS (SELECT * FROM reports.items_as_of(p_at) s WHERE s.created_at <= p_at),
    seg AS (SELECT * FROM reports.segments(p_at)),
    live AS (
        SELECT s.*,
               CASE WHEN s.latest_views IS NOT NULL THEN 'views' ELSE 'engagement' END AS metric,
               CASE WHEN s.latest_views IS NOT NULL THEN s.latest_views ELSE s.latest_engagement END AS actual,
               CASE WHEN s.latest_views IS NOT NULL THEN s.views_at ELSE s.engagement_at END AS known_at
        FROM series s
        WHERE s.created_at >= p_at - p_hours * interval '1 hour'
    ),
    peers AS (  -- the publisher's last 100 earlier items of the same media type
        SELECT * FROM (
            SELECT l.platform, l.item_id, l.metric, p.item_id AS peer_id,
                   p.created_at + (l.known_at - l.created_at) AS moment,
                   row_number() OVER (PARTITION BY l.platform, l.item_id
                                      ORDER BY p.created_at DESC, p.item_id COLLATE "C" DESC) AS n
            FROM live l
            JOIN series p ON p.platform = l.platform
                 AND p.publisher_id IS NOT DISTINCT FROM l.publisher_id
                 AND p.media_type IS NOT DISTINCT FROM l.media_type
                 AND p.created_at < l.created_at
            WHERE l.known_at IS NOT NULL
        ) ranked
        WHERE n <= 100
    ),
    reported AS (SELECT DISTINCT platform, item_id, counter FROM seg),
    peer_counters AS (  -- each counter of the metric a peer reports, at the moment
        SELECT DISTINCT ON (p.platform, p.item_id, p.peer_id, r.counter)
               p.platform, p.item_id, p.peer_id, r.counter,
               reports.interpolate(g.at, g.value, g.next_at, g.next_value, p.moment) AS value
        FROM peers p
        JOIN reported r ON r.platform = p.platform AND r.item_id = p.peer_id
             AND (r.counter = 'views') = (p.metric = 'views')
        LEFT JOIN seg g ON g.platform = r.platform AND g.item_id = r.item_id AND g.counter = r.counter
             AND g.at <= p.moment AND p.moment <= coalesce(g.next_at, g.at)
        ORDER BY p.platform, p.item_id, p.peer_id, r.counter, g.at
    ),
    peer_values AS (
        SELECT platform, item_id, peer_id,
               CASE WHEN count(*) > count(value) THEN NULL ELSE sum(value) END AS value
        FROM peer_counters
        GROUP BY platform, item_id, peer_id
    ),
    benchmarks AS (
        SELECT platform, item_id, reports.trimmed_mean(array_agg(value)) AS expected
        FROM peer_values
        GROUP BY platform, item_id
    ),
    velocity AS (  -- views per hour over the last interval between known views
        SELECT DISTINCT ON (platform, item_id) platform, item_id,
               (next_value - value) / (extract(epoch FROM next_at - at) / 3600.0) AS rate
        FROM seg
        WHERE counter = 'views' AND next_at IS NOT NULL
        ORDER BY platform, item_id, at DESC
    )
    SELECT l.platform, l.item_id, l.publisher_id, coalesce(l.publisher_name, l.publisher_id),
           l.media_type, l.title, l.created_at,
           extract(epoch FROM p_at - l.created_at) / 3600.0,
           l.latest_views, l.latest_engagement, v.rate,
           CASE WHEN l.metric = 'views' THEN 'views' ELSE 'interactions' END,
           b.expected,
           reports.overperformance(l.actual, b.expected),
           p_at
    FROM live l
    LEFT JOIN benchmarks b ON b.platform = l.platform AND b.item_id = l.item_id
    LEFT JOIN velocity v ON v.platform = l.platform AND v.item_id = l.item_id
$$;

-- Live scores as of the newest observation: "now" while ingesting live, and the end of
-- a replay (the demo) otherwise. Any other moment: reports.live_scores_at(T, hours).
CREATE VIEW reports.live_scores AS
SELECT * FROM reports.live_scores_at((SELECT max(observed_at) FROM metric_snapshots), 24);
COMMENT ON VIEW reports.live_scores IS
    'Items published in the 24 h before the newest observation, scored against their '
    'publisher''s benchmark. = shoot2top report live --now latest';
