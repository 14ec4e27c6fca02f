"""The sample's world: its time span, the platforms and their shares, the twelve
publishers (four per platform, several languages and scripts) and the topics they post
about, with the words each topic is written in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 11, 20, tzinfo=UTC)
SPAN = timedelta(days=3)
PLATFORMS = ("x", "youtube", "facebook")
PLATFORM_SHARE = {"x": 0.45, "youtube": 0.30, "facebook": 0.25}


# --------------------------------------------------------------------------- publishers


@dataclass(frozen=True)
class Publisher:
    """An account that publishes items: an X user, a YouTube channel or a Facebook Page."""

    platform: str  # "x", "youtube" or "facebook"
    id: str  # X user id, YouTube channel id (UC...), Facebook Page id
    name: str  # display name / channel title / Page name
    handle: str  # X username, YouTube @handle, Facebook Page vanity name
    followers: int  # followers / subscribers / Page followers
    language: str  # main language of its items
    topics: tuple[str, ...]  # topics it publishes about
    typical_reach: int  # lifetime views (impressions on X) of an ordinary item


PUBLISHERS: dict[str, tuple[Publisher, ...]] = {
    "x": (
        Publisher(
            "x", "1412993408151511040", "Pitchside Live", "PitchsideLive",
            1_250_000, "en", ("football", "music"), 60_000,
        ),
        Publisher(
            "x", "2896731459", "Kawa Daily ニュース", "kawa_daily",
            310_000, "ja", ("election", "weather", "gaming"), 18_000,
        ),
        Publisher(
            "x", "1598812736409665536", "Noor Kitchen | مطبخ نور", "noorkitchen",
            84_000, "ar", ("cooking", "weather"), 6_000,
        ),
        Publisher(
            "x", "738219501", "GG Wire", "ggwire",
            2_100_000, "en", ("gaming", "music", "election"), 120_000,
        ),
    ),
    "youtube": (
        Publisher(
            "youtube", "UCq7xMvN2cJ8wL0pR5tYb3Kd", "Pitchside Highlights", "@pitchsidehighlights",
            4_800_000, "en", ("football",), 250_000,
        ),
        Publisher(
            "youtube", "UCh4Tz9LmQa2VwXe7RsKd1Pg", "Masala Lab", "@masalalab",
            1_900_000, "hi", ("cooking",), 90_000,
        ),
        Publisher(
            "youtube", "UC3bNfW8yHk0JpLx5QvZr7Cm", "Storm Chasers Network", "@stormchasersnet",
            640_000, "en", ("weather", "election"), 40_000,
        ),
        Publisher(
            "youtube", "UCe9Gd2SvYu6KqHn1BtWx4Lo", "Neon Arcade", "@neonarcade",
            3_300_000, "en", ("gaming", "music"), 150_000,
        ),
    ),
    "facebook": (
        Publisher(
            "facebook", "104829301746215", "Metro Evening News", "MetroEveningNews",
            2_700_000, "en", ("election", "weather"), 80_000,
        ),
        Publisher(
            "facebook", "231874650298113", "Sabor de Casa", "SabordeCasa",
            950_000, "es", ("cooking",), 35_000,
        ),
        Publisher(
            "facebook", "100064512387790", "Arena Sports Arabia", "ArenaSportsArabia",
            5_600_000, "ar", ("football",), 150_000,
        ),
        Publisher(
            "facebook", "178245901163524", "Backstage Beats", "BackstageBeats",
            420_000, "en", ("music", "gaming"), 15_000,
        ),
    ),
}  # fmt: skip


# --------------------------------------------------------------------------- topics


@dataclass(frozen=True)
class Topic:
    names: tuple[str, ...]  # fill {a} and {b} in headlines
    headlines: tuple[str, ...]  # English
    foreign: dict[str, str]  # language -> headline
    foreign_hashtag: dict[str, str]  # language -> hashtag
    hashtags: tuple[str, ...]
    emoji: tuple[str, ...]
    youtube_category: str


TOPICS: dict[str, Topic] = {
    "football": Topic(
        names=("Arsenal", "Real Madrid", "Flamengo", "Al Hilal", "Bayern", "Kashima Antlers"),
        headlines=(
            "Full highlights: {a} vs {b}",
            "Late winner sends {a} top of the table",
            "{a} fans were loud tonight against {b}",
            "Is this the goal of the season? {a} vs {b}",
            "Post-match reaction from the {a} dressing room",
            "Tactical breakdown: how {a} pressed {b}",
        ),
        foreign={
            "ja": "{a}対{b}のハイライト、劇的な決勝ゴール！",
            "ar": "ملخص مباراة {a} ضد {b} وهدف رائع",
            "hi": "{a} बनाम {b} मैच की झलकियाँ",
            "es": "¡Golazo de {a} contra {b}!",
        },
        foreign_hashtag={"ja": "サッカー", "ar": "كرة_القدم", "hi": "फुटबॉल", "es": "Fútbol"},
        hashtags=("Football", "MatchDay", "Goal", "Highlights", "UCL"),
        emoji=("⚽", "🔥", "🏆", "👏"),
        youtube_category="17",
    ),
    "election": Topic(
        names=("Ohio", "Bavaria", "Kerala", "Osaka", "São Paulo", "Ontario"),
        headlines=(
            "Live results: early count from {a}",
            "Turnout in {a} already above {b}",
            "Polls close in two hours in {a}",
            "What the {a} result means for {b}",
            "Fact check: claims from last night's debate in {a}",
            "Queues outside polling stations in {a} this morning",
        ),
        foreign={
            "ja": "{a}の開票速報をお伝えします",
            "ar": "نتائج الانتخابات في {a} لحظة بلحظة",
            "hi": "{a} में मतदान जारी है",
            "es": "Resultados en vivo desde {a}",
        },
        foreign_hashtag={"ja": "選挙", "ar": "الانتخابات", "hi": "चुनाव", "es": "Elecciones"},
        hashtags=("Election2026", "Vote", "Results", "Democracy", "Debate"),
        emoji=("🗳️", "📊", "📰", "✅"),
        youtube_category="25",
    ),
    "cooking": Topic(
        names=("ramen", "shakshuka", "biryani", "tacos", "sourdough", "dumplings", "paella"),
        headlines=(
            "15-minute {a} that actually works",
            "My grandmother's {a} recipe",
            "Trying the viral {a} so you don't have to",
            "{a} vs {b}: which one wins?",
            "One-pan {a} for busy weeknights",
            "Street food tour: the best {a} in town",
        ),
        foreign={
            "ja": "簡単{a}レシピ、10分でできる",
            "ar": "وصفة {a} سهلة وسريعة",
            "hi": "घर पर बनाएं स्वादिष्ट {a}",
            "es": "Receta fácil de {a} para hoy",
        },
        foreign_hashtag={"ja": "料理", "ar": "طبخ", "hi": "खाना", "es": "Receta"},
        hashtags=("Recipe", "Foodie", "HomeCooking", "EasyRecipes", "StreetFood"),
        emoji=("🍜", "😋", "🔥", "👩‍🍳"),
        youtube_category="26",
    ),
    "music": Topic(
        names=("Nova Kim", "The Lanterns", "DJ Sora", "Amara Lee", "Los Faros", "Kaito"),
        headlines=(
            "Live at the arena with {a}: full set",
            "First listen: the new {a} single",
            "Behind the scenes with {a} on tour",
            "{a} covers {b} and it's perfect",
            "Crowd singing every word with {a}",
            "Studio session: how {a} built that beat",
        ),
        foreign={
            "ja": "{a}のライブ映像を公開",
            "ar": "أغنية جديدة من {a}",
            "hi": "{a} का नया गाना सुनिए",
            "es": "{a} en vivo esta noche",
        },
        foreign_hashtag={"ja": "音楽", "ar": "موسيقى", "hi": "संगीत", "es": "Música"},
        hashtags=("NewMusic", "LiveMusic", "Concert", "NowPlaying", "Tour"),
        emoji=("🎶", "🎤", "🎧", "❤️"),
        youtube_category="10",
    ),
    "gaming": Topic(
        names=("Starfall", "Neon Drift", "Castle Ruin", "Orbit Wars", "Tiny Kingdoms"),
        headlines=(
            "Speedrun world record attempt in {a}",
            "{a} update explained in five minutes",
            "Clutch 1v4 in {a} ranked",
            "Is {a} worth it this year?",
            "{a} vs {b}: graphics comparison",
            "Final boss of {a}, no damage",
        ),
        foreign={
            "ja": "{a}の世界記録に挑戦！",
            "ar": "أفضل لحظات {a}",
            "hi": "{a} का नया अपडेट",
            "es": "Nuevo récord en {a}",
        },
        foreign_hashtag={"ja": "ゲーム", "ar": "ألعاب", "hi": "गेमिंग", "es": "Videojuegos"},
        hashtags=("Gaming", "Esports", "Speedrun", "GamingClips", "Twitch"),
        emoji=("🎮", "🕹️", "🏆", "😤"),
        youtube_category="20",
    ),
    "weather": Topic(
        names=("Lisbon", "Manila", "Chicago", "Mumbai", "Osaka", "Cairo"),
        headlines=(
            "Storm update for {a}: heavy rain through tonight",
            "Timelapse of the fog rolling into {a}",
            "Snow arriving in {a} earlier than forecast",
            "Flood warning issued for {a}",
            "Sunset over {a} after the rain",
            "Week ahead forecast for {a} and {b}",
        ),
        foreign={
            "ja": "{a}で大雨警報が発表されました",
            "ar": "تحذير من أمطار غزيرة في {a}",
            "hi": "{a} में भारी बारिश की चेतावनी",
            "es": "Alerta de tormenta en {a}",
        },
        foreign_hashtag={"ja": "天気", "ar": "طقس", "hi": "मौसम", "es": "Clima"},
        hashtags=("Weather", "Storm", "Forecast", "WeatherUpdate", "Climate"),
        emoji=("🌧️", "⛈️", "🌪️", "☀️"),
        youtube_category="25",
    ),
}

EXTRA_LINES = (
    "Watch till the end.",
    "Thoughts?",
    "Full video below.",
    "Share with someone who needs this.",
    "Which part was your favourite?",
    "More tomorrow.",
)


def normalize_start(start: datetime) -> datetime:
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start.astimezone(UTC).replace(microsecond=0)
