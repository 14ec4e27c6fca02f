-- Amplification: who spread whose posts (`shoot2top report amplification`,
-- shoot2top.warehouse.amplification, which reads this function). A retweet observes the
-- original, credited to its author; for the retweeter it is only a link in item_references
-- (kind 'retweeted'). A quote is the quoter's own item, linked 'quoted'. Replies are
-- conversation, not amplification, and a publisher spreading its own post is not counted.
--
-- One row per amplified item, for the retweets and quotes made in (p_since, p_until]
-- (NULL: unbounded). What the warehouse does not know is NULL, never 0: an original that
-- was never observed has no publisher, title or publication time; `amplifiers` (distinct
-- publishers) is NULL when some amplifier is unknown, as they cannot be told apart.
CREATE FUNCTION reports.amplification_between(p_since timestamptz, p_until timestamptz)
RETURNS TABLE (platform text, item_id text, publisher_id text, publisher text, title text,
               published timestamptz, retweets bigint, quotes bigint, amplifiers bigint,
               first_at timestamptz, last_at timestamptz, amplified_by text)
LANGUAGE sql STABLE AS $$
    WITH links AS (
        SELECT r.platform, r.referenced_id AS item_id, r.kind, r.publisher_id AS amplifier_id,
               r.created_at
        FROM item_references r
        LEFT JOIN items i ON i.platform = r.platform AND i.item_id = r.referenced_id
        WHERE r.kind IN ('retweeted', 'quoted')
          AND (p_since IS NULL OR r.created_at > p_since)
          AND (p_until IS NULL OR r.created_at <= p_until)
          AND (i.publisher_id IS NULL OR r.publisher_id IS NULL
               OR i.publisher_id <> r.publisher_id)
    ),
    per_amplifier AS (  -- "Name ×3", or "unknown ×2" for amplifiers the warehouse lacks
        SELECT l.platform, l.item_id, count(*) AS times,
               coalesce(p.name, '@' || p.handle, l.amplifier_id, 'unknown') AS who
        FROM links l
        LEFT JOIN publishers p ON p.platform = l.platform AND p.publisher_id = l.amplifier_id
        GROUP BY l.platform, l.item_id, l.amplifier_id, p.name, p.handle
    ),
    named AS (
        SELECT platform, item_id,
               string_agg(who || CASE WHEN times > 1 THEN ' ×' || times ELSE '' END, ', '
                          ORDER BY times DESC, who COLLATE "C") AS amplified_by
        FROM per_amplifier
        GROUP BY platform, item_id
    ),
    counted AS (
        SELECT platform, item_id,
               count(*) FILTER (WHERE kind = 'retweeted') AS retweets,
               count(*) FILTER (WHERE kind = 'quoted') AS quotes,
               CASE WHEN bool_and(amplifier_id IS NOT NULL)
                    THEN count(DISTINCT amplifier_id) END AS amplifiers,
               min(created_at) AS first_at, max(created_at) AS last_at
        FROM links
        GROUP BY platform, item_id
    )
    SELECT c.platform, c.item_id, i.publisher_id, coalesce(p.name, i.publisher_id),
           coalesce(i.title, i.text, i.description), i.created_at,
           c.retweets, c.quotes, c.amplifiers, c.first_at, c.last_at, n.amplified_by
    FROM counted c
    JOIN named n ON n.platform = c.platform AND n.item_id = c.item_id
    LEFT JOIN items i ON i.platform = c.platform AND i.item_id = c.item_id
    LEFT JOIN publishers p ON p.platform = i.platform AND p.publisher_id = i.publisher_id
$$;

-- Every amplification the warehouse holds; any other window:
-- reports.amplification_between(since, until).
CREATE VIEW reports.amplification AS
SELECT * FROM reports.amplification_between(NULL, NULL);
COMMENT ON VIEW reports.amplification IS
    'Per amplified item: retweets and quotes by other publishers, how many publishers, '
    'first and last time, who. = shoot2top report amplification';
COMMENT ON SCHEMA reports IS
    'Shoot2Top reports as SQL views: video_performance, publisher_summary, live_scores, '
    'trends, amplification.';
