"""The platform table: registrations checked, read once, and every built-in part
importable and of the right kind."""

from __future__ import annotations

import pytest

from shoot2top import config, platforms
from shoot2top.platforms import Platform, PlatformError
from shoot2top.posts import PLATFORM_NAMES, PLATFORM_OF_TYPE
from shoot2top.sources.base import Source
from shoot2top.warehouse import features


def toy(**overrides: str) -> Platform:
    fields = {
        "name": "toy",
        "type_key": "clip",
        "extractor": "toy_clip:extract_clip",
        "source_config": "toy_clip:ToySourceConfig",
        "source": "toy_clip:ToySource",
        **overrides,
    }
    return Platform(identity=lambda payload, item: (None, None, None), **fields)


def test_the_built_in_platforms_in_their_order() -> None:
    assert PLATFORM_OF_TYPE == {"tweet": "x", "video": "youtube", "post": "facebook"}
    assert PLATFORM_NAMES == ("x", "youtube", "facebook")
    assert [c.__name__ for c in config.SOURCE_CONFIGS] == [
        "LakeSourceConfig", "XSourceConfig", "YouTubeSourceConfig", "FacebookSourceConfig",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["x", "youtube", "facebook"])
def test_every_part_of_a_built_in_platform_imports(name: str) -> None:
    platform = platforms.by_name(name)
    assert platform.resolve("source_config") in config.SOURCE_CONFIGS
    assert issubclass(platform.resolve("source"), Source)
    assert platform.resolve("extractor") is getattr(features, f"extract_{platform.type_key}")
    for secret in platform.secrets:
        assert secret in config.SECRET_FIELDS


def test_registering_after_the_table_was_read_is_refused() -> None:
    with pytest.raises(PlatformError, match=r"'toy' registered after .*shoot2top.posts"):
        platforms.register(toy())
    with pytest.raises(PlatformError, match="unknown platform 'toy'"):
        platforms.by_name("toy")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Tik Tok"}, "name 'Tik Tok' must be lowercase letters and digits"),
        ({"type_key": "_clip"}, "type_key '_clip' must be lowercase"),
        ({"extractor": "toy_clip.extract_clip"}, "extractor 'toy_clip.extract_clip' must be"),
        ({"source": "toy_clip:"}, "source 'toy_clip:' must be 'module:attribute'"),
    ],
)
def test_a_malformed_registration_names_the_field(overrides: dict, message: str) -> None:
    with pytest.raises(PlatformError, match=message):
        toy(**overrides)


def test_a_part_that_cannot_be_imported_names_the_platform_and_reference() -> None:
    broken = toy(source="toy_missing_module:ToySource", extractor="shoot2top.posts:nothing")
    with pytest.raises(PlatformError, match="platform 'toy': source 'toy_missing_module:Toy"):
        broken.resolve("source")
    with pytest.raises(PlatformError, match=r"extractor 'shoot2top\.posts:nothing' cannot be"):
        broken.resolve("extractor")
